; legacy.asm - instructions that are invalid in 64-bit mode or specific to
; legacy (16/32-bit) modes, run over exhaustive or large deterministic input
; sets. The host-CPU oracle (tests/oracle) cannot run them on a host that
; refuses 32-bit code segments, so QEMU is their oracle: each group folds its
; architecturally defined results (result registers, and only the flags the
; SDM defines for the instruction) into an FNV-1a checksum and prints
; "name xxxxxxxx"; legacy.expected holds QEMU 7.2's lines.
;
; pm32: DAA DAS AAA AAS (all AL/AH x CF x AF), AAM/AAD (all inputs, several
;   immediates, AAM 0 -> #DE), PUSHAD/POPAD and PUSHAW/POPAW (ESP slot),
;   BOUND 32/16 (#BR), ARPL, LES/LDS/LFS/LGS/LSS (32/16, #GP selectors),
;   INTO, SALC, PUSH/POP segment registers (#GP selectors), 8/16-bit
;   MUL/IMUL/DIV/IDIV with DX:AX (#DE), a16 LOOP/JCXZ.
; pm32 -> o16 IRET -> 16-bit pm -> real mode: 16-bit addressing forms with
;   wraparound and SS default for BP, string ops with SI/DI/CX wrap (DF 0/1,
;   REP/REPE/REPNE), XLAT, LOOP/LOOPE/LOOPNE/JCXZ/JECXZ, far CALL/RETF
;   (imm16, o32), IRET 16/32 flag loading, PUSH/POP segment registers,
;   PUSHA/POPA -> o32 RETF back to pm32 -> PASS.
%include "common.inc"

REAL_BASE       equ 0x8000          ; real-mode blob
STACK32         equ 0x90000
IDT32           equ 0x50000
SCRATCH         equ 0x60000         ; pm32 stack/memory tests
PAT_DS          equ 0x10000         ; real-mode pattern segment 0x1000 (DS)
PAT_SS          equ 0x20000         ; real-mode pattern segment 0x2000 (SS)
STR_SRC         equ 0x30000         ; string source segment 0x3000
STR_DST         equ 0x40000         ; string destination segment 0x4000
FNV_BASIS       equ 0x811C9DC5
FNV_PRIME       equ 16777619
SEL_BAD         equ 0x60            ; all-zero GDT slot: system type -> #GP(sel)
SEL_CODE32XO    equ 0x68            ; execute-only 32-bit code (filled below)

; ---------------------------------------------------------------------------
; Group helpers (pm32). Checksum lives in [hash].
%macro GBEGIN 0
        mov dword [hash], FNV_BASIS
%endmacro
%macro GEND 1
        PRINT %1, " "
        push eax
        mov eax, [hash]
        call p32_hex32
        call p32_nl
        pop eax
%endmacro
; FOLD32/16/8 src: fold a register or memory value (not ESP).
%macro FOLD32 1
        push eax
        mov eax, %1
        call f32
        pop eax
%endmacro
%macro FOLD16 1
        push eax
        mov ax, %1
        call f16
        pop eax
%endmacro
%macro FOLD8 1
        push eax
        mov al, %1
        call f8
        pop eax
%endmacro
; FOLDFL mask: fold EFLAGS AND mask (flags preserved)
%macro FOLDFL 1
        pushfd
        push eax
        mov eax, [esp + 4]
        and eax, %1
        call f32
        pop eax
        popfd
%endmacro
; SETFL value: load EFLAGS
%macro SETFL 1
        push dword %1
        popfd
%endmacro
; ARM: expect a possible exception at the next instruction; resume at %1.
%macro ARM 1
        mov dword [exc_vec], -1
        mov dword [exc_err], 0
        mov dword [exc_eip], 0
        mov dword [exc_resume], %1
%endmacro
; FOLDEXC insn_label: fold the vector, error code and the faulting EIP
; relative to the instruction (0 = fault, length = trap).
%macro FOLDEXC 1
        FOLD32 [exc_vec]
        FOLD32 [exc_err]
        push eax
        mov eax, [exc_eip]
        test eax, eax
        jz %%z
        sub eax, %1
%%z:    call f32
        pop eax
%endmacro

; TRACE tag: with -DWITH_TRACE, print the running checksum (to find a mismatch)
%macro TRACE 1
%ifdef WITH_TRACE
        PRINT %1, " "
        push eax
        mov eax, [hash]
        call p32_hex32
        mov al, ' '
        call p32_putc
        mov eax, [exc_vec]
        call p32_hex32
        mov al, ' '
        call p32_putc
        mov eax, [exc_err]
        call p32_hex32
        call p32_nl
        pop eax
%endif
%endmacro

F_CF equ 0x001
F_PF equ 0x004
F_AF equ 0x010
F_ZF equ 0x040
F_SF equ 0x080
F_OF equ 0x800
F_ALL equ 0x8D5

_start:
        SETUP32 STACK32
        ; LDTR keeps its reset state (base 0, limit 0xFFFF: the IVT would be
        ; read as an LDT): make it null so TI=1 selectors fault everywhere.
        xor eax, eax
        lldt ax
        PRINTLN "legacy"
        call idt_setup
        call t_daa
        call t_das
        call t_aaa
        call t_aas
        call t_aam
        call t_aad
        call t_pusha
        call t_bound
        call t_arpl
        call t_lxs
        call t_into_salc
        call t_pushseg
        call t_muldiv
        call t_loop32
        call fill_patterns
        ; copy the real-mode blob below 1 MiB
        mov esi, section..real.start
        mov edi, REAL_BASE
        mov ecx, real_end - real_start
        cld
        rep movsb
        ; o16 IRET (66 CF) to the 16-bit code segment: pops IP, CS, FLAGS
        ; (16 bits each) at the same privilege level.
        mov [saved_esp], esp
        push word 0x0002
        push word SEL_CODE16
        push word pm16_entry
        o16 iret

; Back from real mode through o32 RETF.
pm_again:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, STACK32
        lidt [idtr32]
        PRINTLN "pm32 again"
        EXPECT word [REAL_BASE + (real_done - real_start)], 0x600D, "real-mode part incomplete"
        PASS

; ---------------------------------------------------------------------------
; FNV-1a folding (all registers and flags preserved)
f8:     pushfd
        push edx
        movzx edx, al
        xor edx, [hash]
        imul edx, edx, FNV_PRIME
        mov [hash], edx
        pop edx
        popfd
        ret
f16:    push eax
        call f8
        mov al, ah
        call f8
        pop eax
        ret
f32:    pushfd
        push eax
        call f16
        shr eax, 16
        call f16
        pop eax
        popfd
        ret

; xorshift32 -> EAX
rand32: push edx
        mov eax, [seed]
        mov edx, eax
        shl edx, 13
        xor eax, edx
        mov edx, eax
        shr edx, 17
        xor eax, edx
        mov edx, eax
        shl edx, 5
        xor eax, edx
        mov [seed], eax
        pop edx
        ret
; edge-biased: 1 in 4 from a table of edge values
rand_edge:
        call rand32
        test al, 0x30
        jnz .r
        push edx
        shr eax, 8
        and eax, 15
        mov eax, [edge_tab + eax * 4]
        pop edx
        ret
.r:     call rand32
        ret

; ---------------------------------------------------------------------------
; IDT: 32 stubs; the common handler records vector, error code, faulting EIP
; and resumes at [exc_resume].
idt_setup:
        xor ecx, ecx
.l:     mov eax, [stubs32 + ecx * 4]
        mov [IDT32 + ecx * 8], ax
        mov word [IDT32 + ecx * 8 + 2], SEL_CODE32
        mov word [IDT32 + ecx * 8 + 4], 0x8E00
        shr eax, 16
        mov [IDT32 + ecx * 8 + 6], ax
        inc ecx
        cmp ecx, 32
        jb .l
        lidt [idtr32]
        ; execute-only 32-bit code segment (type 8) for the load checks
        mov dword [gdt_table + SEL_CODE32XO], 0x0000FFFF
        mov dword [gdt_table + SEL_CODE32XO + 4], 0x00CF9800
        ret

%assign v 0
%rep 32
stub_ %+ v:
%if v == 8 || (v >= 10 && v <= 14) || v == 17
        push dword v
%else
        push dword 0
        push dword v
%endif
        jmp exc_common
%assign v v + 1
%endrep

exc_common:                             ; [esp] vector, err, eip, cs, eflags
        push ds
        push eax
        mov ax, SEL_DATA
        mov ds, ax
        mov eax, [esp + 8]
        mov [exc_vec], eax
        mov eax, [esp + 12]
        mov [exc_err], eax
        mov eax, [esp + 16]
        mov [exc_eip], eax
        mov eax, [exc_resume]
        mov [esp + 16], eax
        pop eax
        pop ds
        add esp, 8
        iretd

; ---------------------------------------------------------------------------
; DAA/DAS: AL 0..255 x CF x AF (SF/ZF/PF/OF inputs toggled with AL bit 0).
; Defined: AL, CF, AF, SF, ZF, PF (OF undefined). AH and EAX[31:16] kept.
%macro BCD8 2                           ; insn, name
        GBEGIN
        xor ebx, ebx
%%l:    movzx ecx, bh
        mov edx, [flagtab + ecx * 4]
        test bl, 1
        jz %%n
        or edx, F_OF | F_SF | F_ZF | F_PF
%%n:    mov eax, 0x5A5A0000
        mov ah, bh
        xor ah, 0x3C
        mov al, bl
        push edx
        popfd
        %1
        FOLDFL F_CF | F_AF | F_SF | F_ZF | F_PF
        call f32
        inc ebx
        cmp ebx, 0x400
        jb %%l
        GEND %2
%endmacro
t_daa:
        BCD8 daa, "daa"
        ; spot checks (SDM DAA example: 0x79 + 0x35 = 0xAE -> DAA = 0x14, CF=1)
        mov al, 0xAE
        SETFL 0x002
        daa
        jc .c
        FAIL "daa CF"
.c:     EXPECT al, 0x14, "daa 0xAE"
        ret
t_das:
        BCD8 das, "das"
        ; DAS: CF = old CF | borrow of AL-6 | AL > 0x99 (no "else CF=0")
        mov al, 0x03
        SETFL 0x012                     ; AF=1, CF=0
        das
        jc .c
        FAIL "das borrow CF"
.c:     EXPECT al, 0xFD, "das 0x03 AF"
        ret

; AAA/AAS: AX 0..0xFFFF x CF x AF. Defined: AX, CF, AF.
%macro BCD16 2
        GBEGIN
        xor ebx, ebx
%%l:    mov ecx, ebx
        shr ecx, 16
        mov edx, [flagtab + ecx * 4]
        test bl, 1
        jz %%n
        or edx, F_OF | F_SF | F_ZF | F_PF
%%n:    mov eax, 0xA5C30000
        mov ax, bx
        push edx
        popfd
        %1
        FOLDFL F_CF | F_AF
        call f32
        inc ebx
        cmp ebx, 0x40000
        jb %%l
        GEND %2
%endmacro
t_aaa:
        BCD16 aaa, "aaa"
        mov ax, 0x01FA
        SETFL 0x002
        aaa
        EXPECT ax, 0x0300, "aaa 0x01FA -> AX+0x106, AL&0F"
        ret
t_aas:
        BCD16 aas, "aas"
        mov ax, 0x0205
        SETFL 0x012
        aas
        EXPECT ax, 0x000F, "aas 0x0205 AF -> AX-6, AH-1, AL&0F"
        ret

; AAM imm: AL 0..255 (AH varies). Defined: AX, SF, ZF, PF.
%macro AAM1 2
        GBEGIN
        xor ebx, ebx
%%l:    mov eax, 0x3C3C0000
        mov al, bl
        mov ah, bl
        not ah
        mov edx, 0x002
        test bl, 1
        jz %%n
        mov edx, 0x8D7
%%n:    push edx
        popfd
        aam %1
        FOLDFL F_SF | F_ZF | F_PF
        call f32
        inc ebx
        cmp ebx, 0x100
        jb %%l
        GEND %2
%endmacro
; AAD imm: AX 0..0xFFFF. Defined: AX (AH = 0), SF, ZF, PF.
%macro AAD1 2
        GBEGIN
        xor ebx, ebx
%%l:    mov eax, 0x3C3C0000
        mov ax, bx
        mov edx, 0x002
        test bl, 1
        jz %%n
        mov edx, 0x8D7
%%n:    push edx
        popfd
        aad %1
        FOLDFL F_SF | F_ZF | F_PF
        call f32
        inc ebx
        cmp ebx, 0x10000
        jb %%l
        GEND %2
%endmacro
t_aam:
        AAM1 10, "aam10"
        AAM1 16, "aam16"
        AAM1 7, "aam7"
        AAM1 1, "aam1"
        AAM1 255, "aam255"
        ; AAM 0 -> #DE (fault: EIP at the AAM, AX unchanged)
        GBEGIN
        mov eax, 0x12345678
        ARM .r
.i:     aam 0
.r:     call f32
        FOLDEXC .i
        GEND "aam0"
        EXPECT dword [exc_vec], 0, "aam 0 #DE"
        mov ax, 0x004F                  ; 79 = 7*10 + 9
        aam
        EXPECT ax, 0x0709, "aam 79"
        ret
t_aad:
        AAD1 10, "aad10"
        AAD1 16, "aad16"
        AAD1 7, "aad7"
        AAD1 0, "aad0"
        AAD1 255, "aad255"
        mov ax, 0x0709
        aad
        EXPECT ax, 79, "aad 0x0709"
        ret

; ---------------------------------------------------------------------------
; PUSHAD/POPAD, PUSHAW/POPAW: 32 random register sets. The pushed ESP slot is
; ESP before the instruction; POPA(D) skips it and ESP ends +32 (+16).
t_pusha:
        GBEGIN
        mov edi, SCRATCH
        mov ecx, 0x1000 / 4
        mov eax, 0x01020304
        rep stosd
        mov dword [iter], 32
.l:     mov edi, regs_in
        mov ecx, 8
.g:     call rand_edge
        stosd
        loop .g
        mov [saved_esp], esp
        ; pushad
        mov esp, SCRATCH + 0x100
        mov eax, [regs_in + 0]
        mov ecx, [regs_in + 4]
        mov edx, [regs_in + 8]
        mov ebx, [regs_in + 12]
        mov ebp, [regs_in + 20]
        mov esi, [regs_in + 24]
        mov edi, [regs_in + 28]
        pushad
        mov [tmp], esp
        ; popad from a random image (its ESP slot must be ignored)
        mov esp, SCRATCH + 0x200
        popad
        mov [regs_out + 0], eax
        mov [regs_out + 4], ecx
        mov [regs_out + 8], edx
        mov [regs_out + 12], ebx
        mov [regs_out + 16], esp
        mov [regs_out + 20], ebp
        mov [regs_out + 24], esi
        mov [regs_out + 28], edi
        ; pushaw (66 60) and popaw (66 61)
        mov esp, SCRATCH + 0x300
        mov eax, [regs_in + 28]
        mov ecx, [regs_in + 24]
        mov edx, [regs_in + 20]
        mov ebx, [regs_in + 12]
        mov ebp, [regs_in + 8]
        mov esi, [regs_in + 4]
        mov edi, [regs_in + 0]
        pushaw
        mov [tmp + 4], esp
        mov esp, SCRATCH + 0x400
        popaw
        mov [regs_out + 32], eax
        mov [regs_out + 36], ecx
        mov [regs_out + 40], edx
        mov [regs_out + 44], ebx
        mov [regs_out + 48], esp
        mov [regs_out + 52], ebp
        mov [regs_out + 56], esi
        mov [regs_out + 60], edi
        mov esp, [saved_esp]
        ; fold: pushed images, ESPs, popped registers
        mov esi, SCRATCH + 0x100 - 32
        mov ecx, 8
.f1:    FOLD32 [esi]
        add esi, 4
        loop .f1
        mov esi, SCRATCH + 0x300 - 16
        mov ecx, 4
.f2:    FOLD32 [esi]
        add esi, 4
        loop .f2
        FOLD32 [tmp]
        FOLD32 [tmp + 4]
        mov esi, regs_out
        mov ecx, 16
.f3:    FOLD32 [esi]
        add esi, 4
        loop .f3
        ; new random images for the next POPAD/POPAW
        mov edi, SCRATCH + 0x200
        mov ecx, 8
.g2:    call rand32
        stosd
        loop .g2
        mov edi, SCRATCH + 0x400
        mov ecx, 4
.g3:    call rand32
        stosd
        loop .g3
        dec dword [iter]
        jnz .l
        GEND "pusha"
        ; spot check: ESP slot of PUSHAD = ESP before it
        mov [saved_esp], esp
        mov esp, SCRATCH + 0x100
        pushad
        mov eax, [esp + 12]
        mov esp, [saved_esp]
        EXPECT eax, SCRATCH + 0x100, "pushad ESP slot"
        ret

; ---------------------------------------------------------------------------
; BOUND r32/r16, m: signed lower/upper; out of range -> #BR (fault).
t_bound:
        GBEGIN
        mov dword [iter], 2048
.l:     call rand_edge
        mov [bndv], eax
        call rand_edge
        mov [bndv + 4], eax
        mov [bndv16], ax
        mov edx, [bndv]
        mov [bndv16 + 2], dx
        ; index: lower, upper, lower-1, upper+1 or random
        call rand32
        and eax, 7
        cmp eax, 4
        jae .rnd
        mov ecx, eax
        mov eax, [bndv]
        test ecx, 1
        jz .lo
        mov eax, [bndv + 4]
.lo:    test ecx, 2
        jz .ex
        test ecx, 1
        jz .dm
        inc eax
        jmp .ex
.dm:    dec eax
.ex:    mov ecx, eax
        jmp .go
.rnd:   call rand_edge
        mov ecx, eax
.go:    mov ebx, bndv
        ARM .r1
        mov eax, ecx
.i1:    bound eax, [ebx]
.r1:    call f32
        FOLDEXC .i1
        ; 16-bit form: low words of the index against bndv16 (lower, upper)
        mov ebx, bndv16
        ARM .r2
        mov eax, ecx
        ror eax, 8                      ; a different 16-bit index
        test cl, 1
        jnz .i2
        mov eax, ecx
.i2:    bound ax, [ebx]
.r2:    call f32
        FOLDEXC .i2
        dec dword [iter]
        jnz .l
        GEND "bound"
        ; spot check
        mov dword [bndv], -5
        mov dword [bndv + 4], 5
        mov ebx, bndv
        mov eax, -6
        ARM .s1
.t1:    bound eax, [ebx]
.s1:    EXPECT dword [exc_vec], 5, "bound -6 in [-5,5] #BR"
        EXPECT dword [exc_eip], .t1, "bound #BR is a fault"
        mov eax, 5
        ARM .s2
        bound eax, [ebx]
.s2:    EXPECT dword [exc_vec], -1, "bound 5 in [-5,5]"
        ret

; ---------------------------------------------------------------------------
; ARPL r/m16, r16: ZF=1 and dest.RPL = src.RPL when dest.RPL < src.RPL.
t_arpl:
        GBEGIN
        xor ebx, ebx
.l:     call rand32
        mov edx, eax                    ; random upper bits
        mov eax, edx
        and al, 0xFC
        mov ecx, ebx
        and ecx, 3
        or al, cl                       ; dest RPL = bl & 3
        mov ecx, edx
        rol ecx, 13
        and cl, 0xFC
        mov esi, ebx
        shr esi, 2
        and esi, 3
        or ecx, esi                     ; src RPL = (bl >> 2) & 3
        mov esi, 0x802
        test bl, 0x10
        jz .n
        mov esi, 0x8D7
.n:     push esi
        popfd
        arpl ax, cx
        FOLDFL F_ZF
        call f32
        FOLD32 ecx
        ; memory destination
        mov [tmp], edx
        mov [tmp + 4], eax              ; previous result, fold after
        mov esi, 0x002
        push esi
        popfd
        arpl [tmp], cx
        FOLDFL F_ZF
        FOLD32 [tmp]
        inc ebx
        cmp ebx, 0x400
        jb .l
        GEND "arpl"
        mov ax, 0x0010
        mov cx, 0x0003
        arpl ax, cx
        jz .z
        FAIL "arpl ZF"
.z:     EXPECT ax, 0x0013, "arpl 0x10, 3"
        ret

; ---------------------------------------------------------------------------
; LES/LDS/LFS/LGS/LSS m16:32 and m16:16 with good and bad selectors.
lxs_sels:
        dw SEL_DATA, SEL_DATA16, 0, 3, SEL_CODE32, SEL_CODE16, SEL_BAD
        dw SEL_DATA | 3, SEL_CODE32XO, 0xA0, 0x0C, SEL_UDATA, SEL_UDATA | 3
        dw SEL_TSS, SEL_CODE64
LXS_N equ ($ - lxs_sels) / 2

; LXS1 insn, segreg, dstreg: one load from [fptr] (32-bit) and [fptr16]
%macro LXS1 3
        mov edi, 0xDEADBEEF
        ARM %%r
%%i:    %1 edi, [fptr]
%%r:    mov %3, %2
        mov ax, SEL_DATA
        mov ds, ax
        mov %2, ax
        FOLD32 edi
        FOLD16 %3
        FOLDEXC %%i
        TRACE "lxs32"
        mov edi, 0xDEADBEEF
        ARM %%r2
%%i2:   %1 di, [fptr16]
%%r2:   mov %3, %2
        mov ax, SEL_DATA
        mov ds, ax
        mov %2, ax
        FOLD32 edi
        FOLD16 %3
        FOLDEXC %%i2
        TRACE "lxs16"
%endmacro

t_lxs:
        GBEGIN
        xor ebx, ebx
.l:     mov ax, [lxs_sels + ebx * 2]
        mov dword [fptr], 0x89ABCDEF
        mov [fptr + 4], ax
        mov word [fptr16], 0x4321
        mov [fptr16 + 2], ax
        LXS1 les, es, cx
        LXS1 lds, ds, cx
        LXS1 lfs, fs, cx
        LXS1 lgs, gs, cx
        ; LSS: load, record, restore SS:ESP before anything touches the stack
        mov [saved_esp], esp
        mov dword [fptr], SCRATCH + 0x800
        mov word [fptr16], 0x7FF0
        mov edi, 0xDEADBEEF
        ARM .rs
.is:    lss esp, [fptr]
.rs:    mov edi, esp
        mov cx, ss
        mov ax, SEL_DATA
        mov ss, ax
        mov esp, [saved_esp]
        FOLD32 edi
        FOLD16 cx
        FOLDEXC .is
        TRACE "lss32"
        mov [saved_esp], esp
        ARM .rs2
        and esp, 0xFFFF0000             ; keep ESP[31:16]: o16 LSS loads SP only
        or esp, 0x1234
.is2:   lss sp, [fptr16]
.rs2:   mov edi, esp
        mov cx, ss
        mov ax, SEL_DATA
        mov ss, ax
        mov esp, [saved_esp]
        FOLD32 edi
        FOLD16 cx
        FOLDEXC .is2
        TRACE "lss16"
        inc ebx
        cmp ebx, LXS_N
        jb .l
        GEND "lxs"
        ret

; ---------------------------------------------------------------------------
; INTO (#OF trap when OF=1) and SALC (D6: AL = CF ? FF : 0, flags kept).
t_into_salc:
        GBEGIN
        xor ebx, ebx
.l:     mov eax, ebx
        and eax, 0x8D5
        or eax, 2
        push eax
        ARM .r
        popfd
.i:     into
.r:     FOLDFL F_ALL
        FOLDEXC .i
        add ebx, 0x45
        cmp ebx, 0x1000
        jb .l
        GEND "into"
        GBEGIN
        xor ebx, ebx
.s:     mov eax, ebx
        shl eax, 20
        or eax, ebx
        mov edx, ebx
        and edx, 0x8D5
        or edx, 2
        push edx
        popfd
        db 0xD6                         ; SALC
        FOLDFL F_ALL
        call f32
        add ebx, 0x11
        cmp ebx, 0x1000
        jb .s
        GEND "salc"
        ret

; ---------------------------------------------------------------------------
; PUSH/POP segment registers (32- and 16-bit operand size). A 32-bit push of
; a segment register may write only 16 bits (SDM PUSH): the upper half of the
; slot is not folded.
pops_sels:
        dw SEL_DATA16, 0, SEL_CODE32, SEL_CODE16, SEL_BAD, SEL_DATA | 3
        dw SEL_CODE32XO, 0xA0, 0x0C, SEL_UDATA | 3, SEL_DATA
POPS_N equ ($ - pops_sels) / 2

%macro PUSHS 1                          ; segreg
        mov [saved_esp], esp
        mov esp, SCRATCH + 0x900
        mov dword [SCRATCH + 0x8FC], 0xFFFFFFFF
        push %1
        mov [tmp], esp
        o16 push %1
        mov [tmp + 4], esp
        mov esp, [saved_esp]
        FOLD32 [tmp]
        FOLD32 [tmp + 4]
        FOLD16 [SCRATCH + 0x8FC]
        FOLD16 [SCRATCH + 0x8FA]
        TRACE "push"
%endmacro

; POPS1 segreg: pop [SCRATCH+0xA00] (32-bit) and [SCRATCH+0xB00] (16-bit)
%macro POPS1 1
        mov [saved_esp], esp
        mov esp, SCRATCH + 0xA00
        ARM %%r
%%i:    pop %1
%%r:    mov [ss:tmp], esp             ; DS may be null here
        mov [ss:tmp + 4], %1
        mov ax, SEL_DATA
        mov %1, ax
        mov ds, ax
        mov esp, SCRATCH + 0xB00
        ARM %%r2
%%i2:   o16 pop %1
%%r2:   mov [ss:tmp + 8], esp
        mov [ss:tmp + 12], %1
        mov ax, SEL_DATA
        mov %1, ax
        mov ds, ax
        mov esp, [saved_esp]
        FOLDEXC %%i
        FOLDEXC %%i2
        FOLD32 [tmp]
        FOLD16 [tmp + 4]
        FOLD32 [tmp + 8]
        FOLD16 [tmp + 12]
        TRACE "pop"
%endmacro

t_pushseg:
        GBEGIN
        PUSHS es
        PUSHS cs
        PUSHS ss
        PUSHS ds
        PUSHS fs
        PUSHS gs
        xor ebx, ebx
.l:     mov ax, [pops_sels + ebx * 2]
        mov [SCRATCH + 0xA00], ax
        mov word [SCRATCH + 0xA02], 0x5555
        mov [SCRATCH + 0xB00], ax
        POPS1 es
        POPS1 ds
        POPS1 fs
        POPS1 gs
        mov ax, [pops_sels + ebx * 2]
        mov [SCRATCH + 0xA00], ax
        mov [SCRATCH + 0xB00], ax
        ; POP SS: keep the stack usable whatever gets loaded
        mov [saved_esp], esp
        mov esp, SCRATCH + 0xA00
        ARM .rs
.is:    pop ss
.rs:    mov [tmp], esp
        mov [tmp + 4], ss
        mov ax, SEL_DATA
        mov ss, ax
        mov esp, SCRATCH + 0xB00
        ARM .rs2
.is2:   o16 pop ss
.rs2:   mov [tmp + 8], esp
        mov [tmp + 12], ss
        mov ax, SEL_DATA
        mov ss, ax
        mov esp, [saved_esp]
        FOLDEXC .is
        FOLDEXC .is2
        FOLD32 [tmp]
        FOLD16 [tmp + 4]
        FOLD32 [tmp + 8]
        FOLD16 [tmp + 12]
        inc ebx
        cmp ebx, POPS_N
        jb .l
        GEND "pushseg"
        ret

; ---------------------------------------------------------------------------
; 8/16-bit MUL, IMUL (1, 2 and 3 operands), DIV, IDIV. Upper halves of
; EAX/EDX must be kept. MUL/IMUL: defined CF, OF (SF ZF AF PF undefined);
; DIV/IDIV: no defined flags, #DE on zero divisor or quotient overflow.
%macro MD1 2                            ; insn, flag mask
        mov eax, [md_a]
        mov edx, [md_d]
        mov ecx, [md_c]
        ARM %%r
%%i:    %1
%%r:    FOLDFL %2
        call f32
        FOLD32 edx
        FOLD32 ecx
        FOLDEXC %%i
%endmacro

t_muldiv:
        GBEGIN
        mov dword [iter], 1024
.l:     call rand_edge
        mov [md_a], eax
        call rand_edge
        mov [md_c], eax
        call rand32
        mov [md_d], eax
        ; half the time a small DX so 16-bit DIV does not overflow
        test al, 1
        jz .big
        call rand32
        and eax, 0xFFFF0000
        mov edx, [md_c]
        shr edx, 1
        and edx, 0x7FFF
        or eax, edx
        mov [md_d], eax
.big:
        MD1 {mul cx}, F_CF | F_OF
        MD1 {imul cx}, F_CF | F_OF
        MD1 {imul ax, cx}, F_CF | F_OF
        MD1 {imul ax, cx, 0x7FF1}, F_CF | F_OF
        MD1 {imul dx, cx, -3}, F_CF | F_OF
        MD1 {mul word [md_c]}, F_CF | F_OF
        MD1 {div cx}, 0
        MD1 {idiv cx}, 0
        MD1 {div word [md_c]}, 0
        MD1 {mul cl}, F_CF | F_OF
        MD1 {imul cl}, F_CF | F_OF
        MD1 {div cl}, 0
        MD1 {idiv cl}, 0
        dec dword [iter]
        jnz .l
        GEND "muldiv"
        mov eax, 0xFFFF8000
        mov edx, 0xFFFFFFFF
        mov cx, 1
        idiv cx
        EXPECT eax, 0xFFFF8000, "idiv -32768/1"
        ret

; ---------------------------------------------------------------------------
; a16 LOOP (67 E2) and JCXZ (67 E3) in 32-bit code: they use CX only.
t_loop32:
        GBEGIN
        mov ecx, 0x12340003
        xor ebx, ebx
.l1:    inc ebx
        loop .l1, cx
        FOLD32 ebx
        FOLD32 ecx
        mov ecx, 0x56780000             ; CX = 0: 65536 iterations
        xor ebx, ebx
.l2:    inc ebx
        loop .l2, cx
        FOLD32 ebx
        FOLD32 ecx
        mov ecx, 0x00010000
        xor ebx, ebx
        jcxz .t1                    ; 67 E3: CX = 0 -> taken
        or ebx, 1
.t1:    jecxz .t2                       ; ECX != 0 -> not taken
        or ebx, 2
.t2:    mov ecx, 0x00000005
        xor edx, edx
.l3:    inc edx
        cmp edx, 2
        loopne .l3, cx                  ; stops when EDX = 2 (ZF=1)
        FOLD32 ebx
        FOLD32 ecx
        FOLD32 edx
        GEND "loop32"
        ret

; ---------------------------------------------------------------------------
; Patterns for the real-mode part: byte(x) at segments 0x1000 and 0x2000
; (differing so SS vs DS defaults show), string source and destination.
fill_patterns:
        xor ecx, ecx
.f:     mov eax, ecx
        imul eax, eax, 0x9D
        mov edx, ecx
        shr edx, 8
        imul edx, edx, 0x3B
        add eax, edx
        add eax, 0x11
        mov [PAT_DS + ecx], al
        xor al, 0xA5
        mov [PAT_SS + ecx], al
        mov eax, ecx
        imul eax, eax, 7
        add eax, edx
        mov [STR_SRC + ecx], al
        mov [STR_DST + ecx], al
        inc ecx
        cmp ecx, 0x10000
        jb .f
        ; differences for CMPS
        xor byte [STR_DST + 0xFFFB], 0x40
        xor byte [STR_DST + 0x0003], 0x40
        ret

        IO_ROUTINES p32

        align 4
stubs32:
%assign v 0
%rep 32
        dd stub_ %+ v
%assign v v + 1
%endrep
idtr32: dw 32 * 8 - 1
        dd IDT32
flagtab: dd 0x002, 0x003, 0x012, 0x013  ; CF x AF
edge_tab:
        dd 0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000
        dd 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFF8000, 10
hash:   dd 0
seed:   dd 0x2545F491
iter:   dd 0
saved_esp: dd 0
tmp:    times 4 dd 0
exc_vec: dd 0
exc_err: dd 0
exc_eip: dd 0
exc_resume: dd 0
regs_in: times 8 dd 0
regs_out: times 16 dd 0
bndv:    dd 0, 0
bndv16:  dw 0, 0
fptr:   dd 0
        dw 0
fptr16: dw 0, 0
md_a:   dd 0
md_c:   dd 0
md_d:   dd 0

        GDT_TABLE

; ===========================================================================
; Real-mode blob, copied to REAL_BASE. Its checksum is [cs:rhash].
        section .real follows=.text vstart=REAL_BASE
        bits 16
%define IOP p16
real_start:

%macro RBEGIN 0
        mov dword [cs:rhash], FNV_BASIS
%endmacro
; RFOLD8 r8/m8: inline, no stack (clobbers EDX and flags)
%macro RFOLD8 1
        movzx edx, %1
        xor edx, [cs:rhash]
        imul edx, edx, FNV_PRIME
        mov [cs:rhash], edx
%endmacro
%macro RFOLD16 1
        push ax
        mov ax, %1
        call rf16
        pop ax
%endmacro
%macro RFOLD32 1
        push eax
        mov eax, %1
        call rf32
        pop eax
%endmacro
%macro RFOLDFL 1
        pushfd
        push eax
        mov eax, [esp + 4]
        and eax, %1
        call rf32
        pop eax
        popfd
%endmacro
; REND "name": print name and checksum (DS = 0 for the strings)
%macro REND 1
        push ds
        push word 0
        pop ds
        PRINT %1, " "
        push eax
        mov eax, [cs:rhash]
        call p16_hex32
        call p16_nl
        pop eax
        pop ds
%endmacro

pm16_entry:
        ; 16-bit protected mode (entered by o16 IRET)
        mov ax, SEL_DATA16
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        lidt [real_idtr]
        mov eax, cr0
        and eax, ~1
        mov cr0, eax
        jmp 0:real_entry

real_entry:
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, 0x7000                 ; ESP[31:16] = 0 for [esp+n] forms
        PRINTLN "real16"
        call r_addr
        call r_string
        call r_xlat
        call r_loop
        call r_far
        call r_seg
        mov word [cs:real_done], 0x600D
        ; back to protected mode; o32 RETF loads CS:EIP from the GDT
        o32 lgdt [real_gdtr]
        mov eax, cr0
        or eax, 1
        mov cr0, eax
        push dword SEL_CODE32
        push dword pm_again
        o32 retf

; fold helpers (registers and flags preserved)
rf8:     pushfd
        push edx
        RFOLD8 al
        pop edx
        popfd
        ret
rf16:    push ax
        call rf8
        mov al, ah
        call rf8
        pop ax
        ret
rf32:    push eax
        call rf16
        shr eax, 16
        call rf16
        pop eax
        ret
; LCG -> DX (high bits)
%macro RRAND16 1
        mov edx, [cs:rseed]
        imul edx, edx, 1103515245
        add edx, 12345
        mov [cs:rseed], edx
        shr edx, 16
        mov %1, dx
%endmacro

; ---------------------------------------------------------------------------
; 16-bit addressing: all 24 ModRM memory forms (mod 0/1/2) as LEA and as a
; byte load. DS = 0x1000 and SS = 0x2000 hold different patterns, so the SS
; default of BP forms shows; offsets wrap at 64 KiB. No stack is used while
; SS points at the pattern.
%macro AFORM 1
        lea ax, %1
        RFOLD8 al
        RFOLD8 ah
        mov al, %1
        RFOLD8 al
%endmacro
r_addr:
        RBEGIN
        mov word [cs:cnt], 1024
        mov ax, 0x1000
        mov ds, ax
.l:     RRAND16 bx
        RRAND16 si
        RRAND16 di
        RRAND16 bp
        mov cx, ss
        mov ax, 0x2000
        mov ss, ax
        AFORM [bx+si]
        AFORM [bx+di]
        AFORM [bp+si]
        AFORM [bp+di]
        AFORM [si]
        AFORM [di]
        AFORM [word 0xFFF7]
        AFORM [bx]
        AFORM [bx+si+0x7F]
        AFORM [bx+di-0x80]
        AFORM [bp+si+0x11]
        AFORM [bp+di-1]
        AFORM [si+0x40]
        AFORM [di-0x22]
        AFORM [bp+0x05]
        AFORM [bx-0x7B]
        AFORM [word bx+si-0x10]
        AFORM [bx+di+0x8001]
        AFORM [bp+si+0x1234]
        AFORM [bp+di+0xEDCB]
        AFORM [si+0x7FFF]
        AFORM [di+0x8000]
        AFORM [word bp-1]
        AFORM [bx+0x0101]
        ; overrides: BP with DS, BX with SS
        AFORM [ds:bp+si+3]
        AFORM [ss:bx+di+3]
        mov ss, cx
        dec word [cs:cnt]
        jnz .l
        xor ax, ax
        mov ds, ax
        REND "addr16"
        ret

; ---------------------------------------------------------------------------
; String ops, 16-bit address size: DS = 0x3000, ES = 0x4000.
; STR1 prefix+insn, si, di, cx, df, ax
%macro STR1 6
        mov si, %2
        mov di, %3
        mov cx, %4
        mov eax, 0x77660000 | (%6)
        push word 0x0002 | ((%5) << 10) | 0x0094  ; DF, SF, AF, PF set
        popf
        %1
        RFOLDFL F_ALL | 0x400
        cld
        call rf32
        RFOLD16 si
        RFOLD16 di
        RFOLD16 cx
        call str_fold_dst
%endmacro
r_string:
        RBEGIN
        mov ax, 0x3000
        mov ds, ax
        mov ax, 0x4000
        mov es, ax
        STR1 {rep movsb}, 0xFFF8, 0xFFFC, 0x10, 0, 0
        STR1 {rep movsw}, 0xFFFA, 0xFFF0, 0x12, 0, 0
        STR1 {rep movsw}, 0x0004, 0x0006, 0x08, 1, 0
        STR1 {rep movsd}, 0xFFF8, 0xFFE8, 0x07, 0, 0
        STR1 {rep stosw}, 0, 0x0008, 0x10, 1, 0xBEEF
        STR1 {rep stosb}, 0, 0xFFFE, 0x05, 0, 0x5A
        STR1 {rep stosb}, 0, 0x0100, 0, 0, 0x33           ; CX = 0: nothing
        STR1 {lodsw}, 0xFFFE, 0, 0, 0, 0
        STR1 {lodsb}, 0x0000, 0, 0, 1, 0
        STR1 {rep lodsb}, 0xFFFD, 0, 6, 0, 0
        STR1 {repe cmpsb}, 0xFFF0, 0xFFF0, 0x20, 0, 0
        STR1 {repe cmpsb}, 0x0010, 0x0010, 0x20, 1, 0
        STR1 {repne cmpsb}, 0xFFF0, 0xFFF1, 0x30, 0, 0
        STR1 {repe cmpsw}, 0xFFF4, 0xFFF4, 0x10, 0, 0
        STR1 {cmpsb}, 0x1000, 0x2000, 0, 0, 0
        STR1 {repne scasb}, 0, 0xFFF0, 0x40, 0, 0x5A
        STR1 {repe scasb}, 0, 0xFFFE, 0x40, 0, 0x5A
        STR1 {repne scasw}, 0, 0xFFF0, 0x40, 0, 0xBEEF
        STR1 {repne scasb}, 0, 0x0200, 0x10, 1, 0x00
        STR1 {scasw}, 0, 0x3000, 0, 0, 0x1234
        STR1 {es movsb}, 0xFFFF, 0x0020, 0, 0, 0
        STR1 {rep movsb}, 0x0000, 0xFFFF, 0x03, 1, 0
        STR1 {rep outsb}, 0xFFFE, 0, 0, 0, 0   ; CX = 0: nothing
        xor ax, ax
        mov ds, ax
        mov es, ax
        REND "string16"
        ret
; fold ES:[0xFFC0..0xFFFF] and ES:[0..0x3F] (byte reads, no stack in between)
str_fold_dst:
        push bx
        push edx
        mov bx, 0xFFC0
.l:     RFOLD8 byte [es:bx]
        inc bx
        cmp bx, 0x0040
        jne .l
        pop edx
        pop bx
        ret

; ---------------------------------------------------------------------------
; XLAT: AL = [seg:BX + AL] with 16-bit wraparound (default DS, ES override).
r_xlat:
        RBEGIN
        mov ax, 0x1000
        mov ds, ax
        mov ax, 0x2000
        mov es, ax
        xor si, si
.l:     mov bx, [cs:xlat_bx + si]
        xor cx, cx
.c:     mov al, cl
        xlatb
        RFOLD8 al
        mov al, cl
        es xlatb
        RFOLD8 al
        inc cx
        cmp cx, 0x100
        jb .c
        add si, 2
        cmp si, 8
        jb .l
        xor ax, ax
        mov ds, ax
        mov es, ax
        REND "xlat16"
        ret

; ---------------------------------------------------------------------------
; LOOP/LOOPE/LOOPNE/JCXZ use CX in 16-bit code; JECXZ (67 E3) uses ECX.
r_loop:
        RBEGIN
        mov ecx, 0xABCD0004
        xor ebx, ebx
.l1:    inc ebx
        loop .l1
        RFOLD32 ebx
        RFOLD32 ecx
        mov ecx, 0x12340000             ; CX = 0 -> 65536 iterations
        xor ebx, ebx
.l2:    inc ebx
        loop .l2
        RFOLD32 ebx
        RFOLD32 ecx
        mov ecx, 10
        xor ebx, ebx
.l3:    inc ebx
        cmp ebx, 4
        loopne .l3                      ; ends at EBX = 4
        RFOLD32 ebx
        RFOLD32 ecx
        mov ecx, 10
        xor ebx, ebx
.l4:    inc ebx
        cmp ebx, 1
        loope .l4                       ; ZF after 2nd compare = 0
        RFOLD32 ebx
        RFOLD32 ecx
        xor bx, bx
        mov ecx, 0x00010000
        jcxz .j1
        or bl, 1
.j1:    jecxz .j2
        or bl, 2
.j2:    mov ecx, 0x00000001
        jcxz .j3
        or bl, 4
.j3:    xor ecx, ecx
        jecxz .j4
        or bl, 8
.j4:    RFOLD16 bx
        REND "loop16"
        ret

; ---------------------------------------------------------------------------
; Far CALL/RETF (16-bit, imm16, o32) and IRET (16, 32) in real mode.
far_t16:
        mov bp, sp
        RFOLD16 [bp + 2]                ; CS
        RFOLD16 [bp + 4]                ; argument
        retf 4
far_t32:
        mov bp, sp
        RFOLD32 [bp + 0]                ; EIP
        RFOLD16 [bp + 4]                ; CS (low half only: see PUSH/CALL)
        o32 retf 2
r_far:
        RBEGIN
        mov [cs:spsave], sp
        push word 0x1111
        push word 0x2222
        call 0:far_t16
        mov ax, sp
        sub ax, [cs:spsave]
        RFOLD16 ax
        push word 0x3333
        call dword 0:far_t32
        mov ax, sp
        sub ax, [cs:spsave]
        RFOLD16 ax
        mov sp, [cs:spsave]
        ; IRET 16: FLAGS fully loaded in real mode (IF, TF kept clear)
        xor si, si
.i16:   mov ax, [cs:iret_fl + si]
        push ax
        push cs
        push word .after16
        iret
.after16:
        pushf
        pop ax
        and ax, 0x7FD5 & ~0x0300        ; defined bits without TF/IF
        RFOLD16 ax
        push word 0x0002
        popf
        add si, 2
        cmp si, 8
        jb .i16
        ; o32 IRET: EFLAGS bits 257FD5 loaded, VM/VIF/VIP kept (SDM IRET)
        xor si, si
.i32:   mov eax, [cs:iret_fl32 + si]
        push eax
        push dword 0
        push dword .after32
        o32 iret
.after32:
        pushfd
        pop eax
        and eax, 0x3F7CD5
        RFOLD32 eax
        mov ax, sp
        sub ax, [cs:spsave]
        RFOLD16 ax
        push dword 0x0002
        popfd
        add si, 4
        cmp si, 12
        jb .i32
        REND "far16"
        ret

; ---------------------------------------------------------------------------
; PUSH/POP segment registers and PUSHA/POPA in real mode: base = sel * 16.
r_seg:
        RBEGIN
        mov ax, 0x1000
        mov es, ax
        push es
        pop fs
        push fs
        pop gs
        mov al, [gs:0x1234]             ; pattern byte at 0x11234
        RFOLD8 al
        push word 0x2000
        pop ds
        mov al, [0x0042]
        RFOLD8 al
        push ss
        push cs
        push ds
        mov bp, sp
        RFOLD16 [ss:bp]
        RFOLD16 [ss:bp + 2]
        RFOLD16 [ss:bp + 4]
        add sp, 6
        push dword 0x1fff
        o32 pop es                      ; 32-bit pop of a segment register
        mov al, [es:0x0000]             ; 0x1FFF0: pattern, segment 0x1000
        RFOLD8 al
        push word 0
        pop ds
        push word 0
        pop es
        ; PUSHA/POPA
        mov [cs:spsave], sp
        mov ax, 0x1111
        mov cx, 0x2222
        mov dx, 0x3333
        mov bx, 0x4444
        mov bp, 0x5555
        mov si, 0x6666
        mov di, 0x7777
        pusha
        mov bp, sp
        mov cx, 8
.f:     RFOLD16 [ss:bp]
        add bp, 2
        loop .f
        mov word [ss:bp - 10], 0xDEAD    ; SP slot, ignored by POPA
        mov eax, 0xFFFFFFFF
        mov ebx, eax
        mov ecx, eax
        mov edx, eax
        mov esi, eax
        mov edi, eax
        mov ebp, eax
        popa
        RFOLD32 eax
        RFOLD32 ebx
        RFOLD32 ecx
        RFOLD32 edx
        RFOLD32 esi
        RFOLD32 edi
        RFOLD32 ebp
        mov ax, sp
        sub ax, [cs:spsave]
        RFOLD16 ax
        REND "seg16"
        ret

        IO_ROUTINES p16

xlat_bx:   dw 0x0000, 0x1234, 0xFF80, 0xFFFF
iret_fl:   dw 0x0002, 0x08D7, 0x4402, 0x3CD7
iret_fl32: dd 0x00000002, 0x002C0CD7, 0x001408D7
real_idtr:
        dw 0x3FF
        dd 0
real_gdtr:
        dw gdt_end - gdt_table - 1
        dd gdt_table
        align 4
rhash:  dd 0
rseed:  dd 0x1234567
cnt:    dw 0
spsave: dw 0
real_done: dw 0
real_end:
