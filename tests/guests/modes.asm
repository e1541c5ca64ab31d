; modes.asm - the mode walk:
;   pm32 (multiboot entry) -> 16-bit protected mode -> real mode (IVT int,
;   16-bit arithmetic, segment arithmetic and offset wraparound, UART) ->
;   pm32 again -> IA-32e: compatibility then 64-bit mode (r8-r15, RIP-relative,
;   64-bit arithmetic) -> compatibility mode (far jmp through memory) ->
;   64-bit again (far return) -> compatibility -> paging off = leave long mode
;   -> pm32 final -> PASS.
; No IDT is installed in the protected-mode parts: any unexpected exception
; triple-faults, which shows up as missing output lines.
%include "common.inc"

REAL_BASE       equ 0x8000          ; where the real-mode blob is copied
PML4            equ 0x20000         ; long-mode page tables (identity map)
PDPT            equ 0x21000
PD              equ 0x22000
STACK32         equ 0x90000
EFER            equ 0xC0000080

_start:
        mov edi, eax                    ; keep multiboot magic
        SETUP32 STACK32
        PRINTLN "pm32"
        EXPECT edi, 0x2BADB002, "multiboot magic in EAX"
        ; Multiboot entry state (multiboot spec 3.2): PE=1, PG=0, IF=0.
        mov eax, cr0
        test eax, 0x80000000
        jz .pg_off
        FAIL "paging on at entry"
.pg_off:
        pushfd
        pop eax
        test eax, 0x200
        jz .if_off
        FAIL "IF set at entry"
.if_off:
        ; copy the real-mode blob below 1 MiB: real mode can only address
        ; the first 1 MiB + 64 KiB, and our image is at 1 MiB.
        mov esi, section..real.start
        mov edi, REAL_BASE
        mov ecx, real_end - real_start
        cld
        rep movsb
        ; SDM Vol.3A 10.9.2 (Switching Back to Real-Address Mode): jump to a
        ; 16-bit code segment with a 64 KiB limit first, so CS has real-mode
        ; compatible attributes when PE is cleared.
        jmp SEL_CODE16:pm16_entry

; ---------------------------------------------------------------------------
; Back in 32-bit protected mode, coming from real mode.
pm_again:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov fs, ax
        mov gs, ax
        mov esp, STACK32
        PRINTLN "pm32 again"
        ; the value the real-mode part left behind
        EXPECT dword [REAL_BASE + (real_result - real_start)], 0x3333, "real-mode result lost"

        ; --- build identity page tables: 4 x 2 MiB = first 8 MiB ---
        mov edi, PML4
        xor eax, eax
        mov ecx, 3 * 4096 / 4
        rep stosd
        mov dword [PML4], PDPT | 3      ; P | RW
        mov dword [PDPT], PD | 3
        mov eax, 0x83                   ; P | RW | PS (2 MiB page)
        mov edi, PD
        mov ecx, 4
.pd:    mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .pd

        ; SDM Vol.3A 10.8.5 (Initializing IA-32e Mode): PAE, CR3, EFER.LME,
        ; then CR0.PG. After PG=1 we are in compatibility mode (CS is still
        ; the 32-bit segment) and EFER.LMA=1.
        mov eax, cr4
        or eax, 1 << 5                  ; PAE
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, EFER
        rdmsr
        or eax, 1 << 8                  ; LME
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        mov ecx, EFER
        rdmsr
        test eax, 1 << 10               ; LMA
        jnz .lma
        FAIL "EFER.LMA not set after CR0.PG"
.lma:
        jmp SEL_CODE64:long_entry

; ---------------------------------------------------------------------------
        bits 64
%define IOP p64
long_entry:
        mov ax, SEL_DATA
        mov ds, ax
        mov ss, ax
        mov esp, STACK32                ; 32-bit write zero-extends RSP
        PRINTLN "long64"
        ; 64-bit add with carry out of bit 31 and 63
        mov r8, 0x0123456789ABCDEF
        mov r9, 0x1111111111111111
        add r8, r9
        mov rdx, 0x123456789ABCDF00
        EXPECT r8, rdx, "64-bit add"
        mov r10, 2
        mov rax, -1
        mul r10                         ; RDX:RAX = 2^65 - 2
        EXPECT rdx, 1, "64-bit mul high"
        EXPECT rax, -2, "64-bit mul low"
        ; SDM Vol.1 3.4.1.1: 32-bit results are zero-extended to 64 bits,
        ; 8/16-bit results leave the upper bits alone.
        mov r11, -1
        mov r11d, 5
        EXPECT r11, 5, "32-bit write zero-extends"
        mov r12, -1
        mov r12w, 0x1234
        mov rdx, 0xFFFFFFFFFFFF1234
        EXPECT r12, rdx, "16-bit write merges"
        mov r13, -1
        mov r13b, 0
        EXPECT r13, -256, "8-bit write merges"
        mov r14d, 0x80000000
        movsxd r15, r14d
        mov rdx, 0xFFFFFFFF80000000
        EXPECT r15, rdx, "movsxd"
        mov rax, 1
        shl rax, 63
        shr rax, 62
        EXPECT rax, 2, "64-bit shifts"
        ; RIP-relative addressing: lea gives the absolute address
        lea rax, [rel q_const]
        mov rdx, q_const
        EXPECT rax, rdx, "RIP-relative lea"
        mov rax, [rel q_const]
        mov rdx, 0xFEDCBA9876543210
        EXPECT rax, rdx, "RIP-relative load"
        ; push/pop are 8 bytes in 64-bit mode
        mov rax, rsp
        push r8
        sub rax, rsp
        pop r8
        EXPECT rax, 8, "64-bit push size"
        ; to compatibility mode: far jmp through an m16:32 memory operand
        jmp far dword [rel compat_ptr]  ; FF /5 without REX.W: m16:32 (REX.W m16:64 is Intel-only)

long_again:
        mov esp, STACK32
        PRINTLN "long64 again"
        EXPECT r8, rdx, "r8 set by the 64-bit stub"
        ; leave long mode: go to a compatibility-mode segment with a 64-bit
        ; far return (REX.W RETF pops 8-byte RIP and 8-byte CS)
        push qword SEL_CODE32
        push qword leave_lm
        o64 retf

        align 8
q_const: dq 0xFEDCBA9876543210
compat_ptr:
        dd compat_entry
        dw SEL_CODE32

        IO_ROUTINES p64

; ---------------------------------------------------------------------------
        bits 32
%define IOP p32
compat_entry:
        mov esp, STACK32
        PRINTLN "compat32"
        ; still IA-32e (LMA=1), but 32-bit operand/address/stack size
        mov ecx, EFER
        rdmsr
        test eax, 1 << 10
        jnz .lma
        FAIL "LMA clear in compat mode"
.lma:
        mov eax, esp
        push ebx
        sub eax, esp
        pop ebx
        EXPECT eax, 4, "compat push size"
        ; Back to 64-bit mode with a 32-bit far return. The upper halves of
        ; the GPRs are undefined across a 64->32->64 switch (SDM Vol.1
        ; 3.4.1.1), so nothing 64-bit is checked across it; a 64-bit stub
        ; sets r8/rdx for the check in long_again.
        push SEL_CODE64
        push set_and_return
        retf                            ; 32-bit far return: EIP, CS

        bits 64
set_and_return:
        mov r8, 0x55AA55AA55AA55AA
        mov rdx, r8
        jmp long_again

        bits 32
leave_lm:
        ; SDM Vol.3A 10.8.5.4 (Switching Out of IA-32e Mode): from
        ; compatibility mode, clear CR0.PG (this code is identity mapped),
        ; then EFER.LME may be cleared.
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        mov ecx, EFER
        rdmsr
        and eax, ~(1 << 8)
        wrmsr
        rdmsr
        test eax, 1 << 10
        jz .nolma
        FAIL "LMA still set after PG=0"
.nolma:
        mov eax, cr4
        and eax, ~(1 << 5)
        mov cr4, eax
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, STACK32
        PRINTLN "pm32 final"
        ; a plain 32-bit check that we really have 32-bit semantics again
        mov eax, 0xFFFFFFFF
        add eax, 1
        jc .carry
        FAIL "32-bit carry"
.carry:
        PASS

        IO_ROUTINES p32
        GDT_TABLE

; ===========================================================================
; Real-mode blob, copied to REAL_BASE (0x8000). Linked at that address.
        section .real follows=.text vstart=REAL_BASE
        bits 16
%define IOP p16
real_start:
pm16_entry:
        ; 16-bit protected mode: data segments with a 64 KiB limit
        mov ax, SEL_DATA16
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        lidt [real_idtr]                ; IVT at 0, 256 vectors
        mov eax, cr0
        and eax, ~1                     ; PE=0
        mov cr0, eax
        jmp 0:real_entry                ; loads a real-mode CS (base = 0)

real_entry:
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7000
        PRINTLN "real16"
        ; install IVT vector 0x60 -> int60 (IVT entry = offset, segment)
        mov word [0x60 * 4], int60
        mov word [0x60 * 4 + 2], 0
        mov ax, 0x2222
        stc                             ; CF must survive the INT/IRET pair
        int 0x60
int60_ret:
        jc .cf_ok
        FAIL "IRET did not restore CF"
.cf_ok:
        EXPECT ax, 0x3333, "int 0x60 result"
        EXPECT byte [int60_hit], 1, "int 0x60 handler not run"
        mov [real_result], ax
        ; 16-bit arithmetic: carry/zero out of bit 15
        mov ax, 0xFFFF
        add ax, 1
        jc .c1
        FAIL "16-bit add carry"
.c1:    EXPECT ax, 0, "16-bit add wrap"
        mov ax, 0x7FFF
        inc ax                          ; signed overflow
        jo .o1
        FAIL "16-bit inc overflow"
.o1:    mov ax, 300
        mov bx, 300
        mul bx                          ; DX:AX = 90000 = 0x15F90
        EXPECT dx, 1, "16-bit mul high"
        EXPECT ax, 0x5F90, "16-bit mul low"
        mov dx, 1
        mov ax, 0x5F91
        mov bx, 7
        div bx                          ; 90001 / 7 = 12857 r 2
        EXPECT ax, 12857, "16-bit div quotient"
        EXPECT dx, 2, "16-bit div remainder"
        ; segment arithmetic: linear = segment * 16 + offset
        mov word [0x7012], 0xBEEF
        mov ax, 0x0700
        mov es, ax
        EXPECT word [es:0x0012], 0xBEEF, "segment*16+offset"
        ; 16-bit effective addresses wrap at 64 KiB: 0xFFFE + 0x14 = 0x0012
        mov bx, 0xFFFE
        EXPECT word [es:bx + 0x14], 0xBEEF, "16-bit offset wraparound"
        xor ax, ax
        mov es, ax
        mov ax, [real_result]
        call p16_hex16
        call p16_nl
        ; back to protected mode (SDM Vol.3A 10.9.1): LGDT with a 32-bit
        ; operand size so all 32 bits of the GDT base are loaded.
        o32 lgdt [real_gdtr]
        mov eax, cr0
        or eax, 1
        mov cr0, eax
        jmp dword SEL_CODE32:pm_again

int60:
        push bp
        mov bp, sp
        ; frame: [bp+2]=IP, [bp+4]=CS, [bp+6]=FLAGS
        EXPECT word [bp + 2], int60_ret, "int frame IP"
        EXPECT word [bp + 4], 0, "int frame CS"
        test word [bp + 6], 1
        jnz .cf
        FAIL "int frame FLAGS.CF"
.cf:    add ax, 0x1111
        mov byte [int60_hit], 1
        clc
        pop bp
        iret

        IO_ROUTINES p16

real_idtr:
        dw 0x3FF
        dd 0
real_gdtr:
        dw gdt_end - gdt_table - 1
        dd gdt_table
int60_hit:   db 0
        align 4
real_result: dd 0
real_end:
