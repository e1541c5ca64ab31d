; privilege.asm - ring transitions.
; 32-bit: IRETD to ring 3; INT 0x80 (DPL3 interrupt gate) back to ring 0 with
;   the TSS.ESP0 stack switch (frame = SS, ESP, EFLAGS, CS, EIP of ring 3);
;   a call gate (lcall) and a privilege-changing far return; ring-3 HLT, CLI
;   (IOPL 0), MOV CR3 and INT to a DPL0 gate -> #GP; SYSENTER/SYSEXIT.
; 64-bit: IRETQ to ring 3; INT 0x80 with TSS.RSP0; an IST stack;
;   SYSCALL/SYSRET (STAR/LSTAR/SFMASK, RCX/R11); ring-3 HLT/CLI -> #GP(0).
; Ring-3 code cannot do port I/O (IOPL 0), so it asks ring 0 to print or
; to fail through INT 0x80 services: EAX=3 print ESI, EAX=0xDEAD fail with
; reason ESI, EAX=2 done (ring 0 continues at k_cont), EAX=1 frame check.
%include "common.inc"

STACK0          equ 0x90000         ; ring-0 stack (TSS.ESP0/RSP0)
IST1_TOP        equ 0x80000         ; IST1 stack (64-bit)
USTACK          equ 0x70000         ; ring-3 stack
SYSENTER_STACK  equ 0x7C000
IDT32           equ 0x50000
IDT64           equ 0x51000
TSS             equ 0x53000
PML4            equ 0x40000
PDPT            equ 0x41000
PD64            equ 0x42000
EFER            equ 0xC0000080
STAR            equ 0xC0000081
LSTAR           equ 0xC0000082
SFMASK          equ 0xC0000084
SEL_CALLGATE    equ SEL_SPARE0
SVC_CHECK       equ 1
SVC_DONE        equ 2
SVC_PRINT       equ 3
SVC_FAIL        equ 0xDEAD

; ring-3 helpers
%macro UPRINTLN 1
        jmp %%o
%%s:    db %1, 10, 0
%%o:    mov esi, %%s
        mov eax, SVC_PRINT
        int 0x80
%endmacro
%macro UEXPECT 3
        cmp %1, %2
        je %%ok
        mov esi, %%m
        mov eax, SVC_FAIL
        int 0x80
%%m:    db %3, 0
%%ok:
%endmacro
; UGP insn, "name": run a privileged instruction in ring 3, expect #GP(0)
; at that instruction; the #GP handler resumes at ex_resume.
%macro UGP 2
        mov dword [ex_count], 0
        mov dword [ex_resume], %%r
%%i:    %1
%%r:    UEXPECT dword [ex_count], 1, {"no #GP for ring-3 ", %2}
        UEXPECT dword [ex_ec], 0, {"#GP error code for ring-3 ", %2}
        UEXPECT dword [ex_eip], %%i, {"#GP saved EIP for ring-3 ", %2}
        UPRINTLN {"ring 3 ", %2, " -> #GP(0)"}
%endmacro

_start:
        SETUP32 STACK0
        PRINTLN "privilege: pm32"
        ; IDT: all exceptions -> unexpected, #GP -> gp32, 0x80 DPL3, 0x81 DPL0
        xor ecx, ecx
.idt:   mov eax, unexpected32
        cmp ecx, 13
        jne .ng
        mov eax, gp32
.ng:    mov dx, 0x8E00
        call set_gate32
        inc ecx
        cmp ecx, 256
        jb .idt
        mov ecx, 0x80
        mov eax, int80_32
        mov dx, 0xEE00                  ; P, DPL3, 32-bit interrupt gate
        call set_gate32
        lidt [idtr32]
        ; TSS: ESP0/SS0 used on the ring 3 -> 0 stack switch (SDM Vol.3A 7.7)
        mov dword [TSS + 4], STACK0
        mov dword [TSS + 8], SEL_DATA
        mov word [TSS + 102], 104       ; I/O map base past the limit
        call set_tss_desc
        mov ax, SEL_TSS
        ltr ax
        ; call gate: DPL3 so ring 3 may use it, target ring-0 code
        mov eax, callgate_target
        mov [gdt_table + SEL_CALLGATE], ax
        mov word [gdt_table + SEL_CALLGATE + 2], SEL_CODE32
        mov word [gdt_table + SEL_CALLGATE + 4], 0xEC00 ; P DPL3 type C, 0 params
        shr eax, 16
        mov [gdt_table + SEL_CALLGATE + 6], ax
        ; SYSENTER MSRs
        mov ecx, 0x174
        mov eax, SEL_CODE32
        xor edx, edx
        wrmsr
        mov ecx, 0x175
        mov eax, SYSENTER_STACK
        wrmsr
        mov ecx, 0x176
        mov eax, sysenter_entry
        wrmsr

        mov dword [k_cont], pm32_done
        ; IRET to ring 3 (SDM Vol.2 IRET: RETURN-TO-OUTER-PRIVILEGE-LEVEL);
        ; DS/ES with DPL < 3 would be nulled, so load user selectors first.
        mov ax, SEL_UDATA | 3
        mov ds, ax
        mov es, ax
        push dword SEL_UDATA | 3
        push dword USTACK
        push dword 0x2
        push dword SEL_UCODE32 | 3
        push dword user32
        iretd

; ---- ring 3, 32-bit ----
user32:
        mov ax, cs
        UEXPECT ax, SEL_UCODE32 | 3, "CS after IRET to ring 3"
        mov ax, ss
        UEXPECT ax, SEL_UDATA | 3, "SS after IRET to ring 3"
        UPRINTLN "ring 3 via iretd"
        mov eax, SVC_CHECK
        int 0x80
user32_int_ret:
        UEXPECT eax, 0x600D, "int 0x80 return value"
        UEXPECT esp, USTACK, "ring-3 ESP after iretd"
        ; call gate
        call SEL_CALLGATE | 3 : 0       ; offset ignored for a call gate
user32_cg_ret:
        UEXPECT eax, 0xCA11, "call gate return value"
        UEXPECT esp, USTACK, "ring-3 ESP after far return"
        mov ax, cs
        UEXPECT ax, SEL_UCODE32 | 3, "CS after far return to ring 3"
        ; privileged instructions
        UGP hlt, "hlt"
        UGP cli, "cli (IOPL 0)"
        UGP {mov cr3, eax}, "mov cr3"
        ; INT to a DPL0 gate from ring 3: #GP(vector<<3 | IDT | EXT=0)
        ; (SDM Vol.2 INT: "IF software interrupt and gate DPL < CPL")
        mov dword [ex_count], 0
        mov dword [ex_resume], .r81
.i81:   int 0x81
.r81:   UEXPECT dword [ex_count], 1, "no #GP for int 0x81"
        UEXPECT dword [ex_ec], (0x81 << 3) | 2, "#GP error code for int to DPL0 gate"
        UEXPECT dword [ex_eip], .i81, "#GP saved EIP for int 0x81"
        UPRINTLN "ring 3 int 0x81 (DPL0 gate) -> #GP(0x40a)"
        ; SYSENTER: ECX/EDX carry the return ESP/EIP for SYSEXIT
        mov ecx, esp
        mov edx, user32_sysexit_ret
        sysenter
user32_sysexit_ret:
        mov ax, cs
        UEXPECT ax, SEL_UCODE32 | 3, "CS after sysexit"
        mov ax, ss
        UEXPECT ax, SEL_UDATA | 3, "SS after sysexit"
        UEXPECT esp, USTACK, "ESP after sysexit"
        UPRINTLN "ring 3 after sysexit"
        mov eax, SVC_DONE
        int 0x80
        jmp $

; ---- ring 0, 32-bit ----
int80_32:
        cmp eax, SVC_FAIL
        je p32_fail
        cmp eax, SVC_PRINT
        jne .np
        call p32_puts
        iretd
.np:    cmp eax, SVC_DONE
        je .done
        ; SVC_CHECK: the frame pushed on the TSS.ESP0 stack
        EXPECT esp, STACK0 - 20, "int 0x80: ESP is not TSS.ESP0 - 20"
        EXPECT dword [esp], user32_int_ret, "int 0x80 frame EIP"
        EXPECT dword [esp + 4], SEL_UCODE32 | 3, "int 0x80 frame CS"
        EXPECT dword [esp + 12], USTACK, "int 0x80 frame ESP"
        EXPECT dword [esp + 16], SEL_UDATA | 3, "int 0x80 frame SS"
        mov ax, ss
        EXPECT ax, SEL_DATA, "int 0x80: SS is not TSS.SS0"
        mov ax, cs
        EXPECT ax, SEL_CODE32, "int 0x80: CS"
        PRINTLN "int 0x80 from ring 3: stack switch and frame ok"
        mov eax, 0x600D
        iretd
.done:  mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov esp, STACK0
        jmp [k_cont]

callgate_target:
        ; SDM Vol.3A 5.8.5: the call gate switches to the TSS stack and
        ; copies SS, ESP, CS, EIP of the caller (0 parameters).
        EXPECT esp, STACK0 - 16, "call gate: ESP"
        EXPECT dword [esp], user32_cg_ret, "call gate frame EIP"
        EXPECT dword [esp + 4], SEL_UCODE32 | 3, "call gate frame CS"
        EXPECT dword [esp + 8], USTACK, "call gate frame ESP"
        EXPECT dword [esp + 12], SEL_UDATA | 3, "call gate frame SS"
        mov ax, cs
        EXPECT ax, SEL_CODE32, "call gate: CS"
        PRINTLN "call gate from ring 3: stack switch and frame ok"
        mov eax, 0xCA11
        retf                            ; privilege-changing far return

sysenter_entry:
        ; SDM Vol.2 SYSENTER: CS = SYSENTER_CS, SS = +8, ESP = SYSENTER_ESP,
        ; EFLAGS.IF/VM cleared.
        mov ax, cs
        EXPECT ax, SEL_CODE32, "sysenter CS"
        mov ax, ss
        EXPECT ax, SEL_DATA, "sysenter SS"
        EXPECT esp, SYSENTER_STACK, "sysenter ESP"
        PRINTLN "sysenter: ring 0 ok"
        sysexit                         ; CS = SYSENTER_CS+16|3, SS = +24|3

gp32:
        ; [esp] ec, +4 EIP, +8 CS
        push eax
        mov eax, [esp + 4]
        mov [ex_ec], eax
        mov eax, [esp + 8]
        mov [ex_eip], eax
        inc dword [ex_count]
        mov eax, [ex_resume]
        mov [esp + 8], eax
        pop eax
        add esp, 4
        iretd

unexpected32:
        FAIL "unexpected exception (32-bit)"

; ECX = vector, EAX = handler, DX = attributes (type in bits 11:8)
set_gate32:
        mov [IDT32 + ecx * 8], ax
        mov word [IDT32 + ecx * 8 + 2], SEL_CODE32
        mov [IDT32 + ecx * 8 + 4], dx
        push eax
        shr eax, 16
        mov [IDT32 + ecx * 8 + 6], ax
        pop eax
        ret

; TSS descriptor: base TSS, limit 103, type 9 (available), 16 bytes so it
; also serves in long mode.
set_tss_desc:
        mov eax, TSS
        mov word [gdt_table + SEL_TSS], 103
        mov [gdt_table + SEL_TSS + 2], ax
        shr eax, 16
        mov [gdt_table + SEL_TSS + 4], al
        mov byte [gdt_table + SEL_TSS + 5], 0x89
        mov byte [gdt_table + SEL_TSS + 6], 0
        mov [gdt_table + SEL_TSS + 7], ah
        mov dword [gdt_table + SEL_TSS + 8], 0
        mov dword [gdt_table + SEL_TSS + 12], 0
        ret

; ---- 32-bit part done: go to long mode ----
pm32_done:
        PRINTLN "privilege: long64"
        ; identity map 0-8 MiB with 2 MiB user pages (U=1 at every level)
        mov edi, PML4
        xor eax, eax
        mov ecx, 3 * 4096 / 4
        rep stosd
        mov dword [PML4], PDPT | 7
        mov dword [PDPT], PD64 | 7
        mov eax, 0x87
        mov edi, PD64
        mov ecx, 4
.pd:    mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .pd
        mov eax, cr4
        or eax, 1 << 5
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, EFER
        rdmsr
        or eax, (1 << 8) | 1            ; LME, SCE (SYSCALL enable)
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp SEL_CODE64:long_entry

; ===========================================================================
        bits 64
%define IOP p64
long_entry:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, STACK0
        ; IDT64
        xor ecx, ecx
.idt:   mov eax, unexpected64
        cmp ecx, 13
        jne .ng
        mov eax, gp64
.ng:    mov edx, 0x8E00
        call set_gate64
        inc ecx
        cmp ecx, 256
        jb .idt
        mov ecx, 0x80
        mov eax, int80_64
        mov edx, 0xEE00
        call set_gate64
        mov ecx, 0x82
        mov eax, int82_64
        mov edx, 0xEE01                 ; IST index 1 in bits 2:0 of byte 4
        call set_gate64
        lidt [idtr64]
        ; 64-bit TSS (SDM Vol.3A 8.7): RSP0 at +4, IST1 at +0x24. The
        ; descriptor is busy from the 32-bit LTR: rewrite it as available.
        mov edi, TSS
        xor eax, eax
        mov ecx, 104 / 4
        rep stosd
        mov qword [TSS + 4], STACK0
        mov qword [TSS + 0x24], IST1_TOP
        mov word [TSS + 102], 104
        call set_tss_desc64
        mov ax, SEL_TSS
        ltr ax
        ; SYSCALL MSRs: STAR[47:32] kernel CS (SS = +8), STAR[63:48] base
        ; for SYSRET (64-bit CS = +16, SS = +8); SFMASK clears TF|IF|DF|AC.
        mov ecx, STAR
        xor eax, eax
        mov edx, (SEL_UCODE32 << 16) | SEL_CODE64
        wrmsr
        mov ecx, LSTAR
        mov eax, syscall_entry
        xor edx, edx
        wrmsr
        mov ecx, SFMASK
        mov eax, 0x40700
        wrmsr

        mov dword [k_cont], long_done
        push qword SEL_UDATA | 3
        push qword USTACK
        push qword 0x2
        push qword SEL_UCODE64 | 3
        push qword user64
        iretq

; ---- ring 3, 64-bit ----
user64:
        mov ax, cs
        UEXPECT ax, SEL_UCODE64 | 3, "CS after IRETQ to ring 3"
        UPRINTLN "ring 3 via iretq"
        mov eax, SVC_CHECK
        int 0x80
user64_int_ret:
        UEXPECT eax, 0x600D, "int 0x80 return value (64)"
        UEXPECT rsp, USTACK, "ring-3 RSP after iretq"
        int 0x82
user64_ist_ret:
        UEXPECT eax, 0x1571, "int 0x82 return value"
        ; SYSCALL with DF and AC set: SFMASK must clear them in ring 0,
        ; R11 keeps them and SYSRET restores them.
        pushfq
        or qword [rsp], 0x40400         ; AC | DF
        popfq
        mov rbx, rsp
        syscall
user64_syscall_ret:
        pushfq
        pop rax
        and eax, 0x40400
        UEXPECT eax, 0x40400, "RFLAGS.DF/AC not restored by sysret"
        cld
        pushfq
        and qword [rsp], ~0x40000
        popfq
        mov ax, cs
        UEXPECT ax, SEL_UCODE64 | 3, "CS after sysret"
        mov ax, ss
        UEXPECT ax, SEL_UDATA | 3, "SS after sysret"
        UEXPECT rsp, USTACK, "RSP after sysret"
        UEXPECT r12, 0x5C, "syscall result"
        UPRINTLN "ring 3 after sysret"
        UGP hlt, "hlt"
        UGP cli, "cli (IOPL 0)"
        UGP {mov cr3, rax}, "mov cr3"
        mov eax, SVC_DONE
        int 0x80
        jmp $

; ---- ring 0, 64-bit ----
int80_64:
        cmp eax, SVC_FAIL
        je p64_fail
        cmp eax, SVC_PRINT
        jne .np
        call p64_puts
        iretq
.np:    cmp eax, SVC_DONE
        je .done
        ; SDM Vol.3A 6.14.2: 64-bit frame is always SS, RSP, RFLAGS, CS,
        ; RIP (RSP0 is 16-byte aligned, so no alignment padding).
        EXPECT rsp, STACK0 - 40, "int 0x80 (64): RSP is not TSS.RSP0 - 40"
        EXPECT qword [rsp], user64_int_ret, "int 0x80 frame RIP (64)"
        EXPECT qword [rsp + 8], SEL_UCODE64 | 3, "int 0x80 frame CS (64)"
        EXPECT qword [rsp + 24], USTACK, "int 0x80 frame RSP (64)"
        EXPECT qword [rsp + 32], SEL_UDATA | 3, "int 0x80 frame SS (64)"
        ; a ring 3 -> 0 transition in 64-bit mode loads SS with NULL|0
        ; (SDM Vol.3A 6.14.4)
        mov ax, ss
        EXPECT ax, 0, "int 0x80 (64): SS not null"
        PRINTLN "int 0x80 from ring 3: RSP0 stack switch and frame ok"
        mov eax, 0x600D
        iretq
.done:  mov esp, STACK0
        mov eax, [k_cont]
        jmp rax

int82_64:
        EXPECT rsp, IST1_TOP - 40, "int 0x82: RSP is not IST1 - 40"
        EXPECT qword [rsp], user64_ist_ret, "int 0x82 frame RIP"
        EXPECT qword [rsp + 24], USTACK, "int 0x82 frame RSP"
        PRINTLN "int 0x82 from ring 3: IST1 stack ok"
        mov eax, 0x1571
        iretq

syscall_entry:
        ; SDM Vol.2 SYSCALL: RCX = return RIP, R11 = RFLAGS, CS/SS from
        ; STAR, RFLAGS &= ~SFMASK; RSP is not switched.
        mov ax, cs
        EXPECT ax, SEL_CODE64, "syscall CS"
        mov ax, ss
        EXPECT ax, SEL_DATA64, "syscall SS"
        EXPECT rcx, user64_syscall_ret, "syscall RCX"
        EXPECT rsp, rbx, "syscall changed RSP"
        mov rax, r11
        and eax, 0x40400
        EXPECT eax, 0x40400, "syscall R11 (AC|DF)"
        pushfq
        pop rax
        test eax, 0x40700
        jz .m
        FAIL "SFMASK bits still set in RFLAGS"
.m:     PRINTLN "syscall: ring 0 ok, SFMASK applied"
        mov r12d, 0x5C
        o64 sysret

gp64:
        push rax
        mov rax, [rsp + 8]
        mov [ex_ec], eax
        mov rax, [rsp + 16]
        mov [ex_eip], eax
        inc dword [ex_count]
        mov eax, [ex_resume]
        mov [rsp + 16], rax
        pop rax
        add rsp, 8
        iretq

unexpected64:
        FAIL "unexpected exception (64-bit)"

; ECX vector, EAX handler (< 4 GiB), EDX attributes/IST word
set_gate64:
        mov rdi, rcx
        shl rdi, 4
        add rdi, IDT64
        mov [rdi], ax
        mov word [rdi + 2], SEL_CODE64
        mov [rdi + 4], dx
        push rax
        shr eax, 16
        mov [rdi + 6], ax
        pop rax
        mov qword [rdi + 8], 0
        ret

set_tss_desc64:
        mov eax, TSS
        mov word [gdt_table + SEL_TSS], 103
        mov [gdt_table + SEL_TSS + 2], ax
        shr eax, 16
        mov [gdt_table + SEL_TSS + 4], al
        mov byte [gdt_table + SEL_TSS + 5], 0x89   ; available 64-bit TSS
        mov byte [gdt_table + SEL_TSS + 6], 0
        mov [gdt_table + SEL_TSS + 7], ah
        mov qword [gdt_table + SEL_TSS + 8], 0
        ret

long_done:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        PASS

        IO_ROUTINES p64
        bits 32
%define IOP p32
        IO_ROUTINES p32

        align 8
idtr32: dw 256 * 8 - 1
        dd IDT32
idtr64: dw 256 * 16 - 1
        dq IDT64
ex_count:  dd 0
ex_ec:     dd 0
ex_eip:    dd 0
ex_resume: dd 0
k_cont:    dd 0
        GDT_TABLE
