; debug.asm - the debug architecture in 32-bit protected mode (SDM Vol.3
; ch. 17): an instruction breakpoint (fault, RF set by the handler lets the
; instruction run), RF pushed for other faults, write and read/write data
; breakpoints of 1/2/4 bytes (traps, saved EIP = next instruction, DR6.Bn),
; single-step (DR6.BS) and INT n under TF, DR7.GD (#DB fault with DR6.BD,
; GD cleared for the handler), INT1/ICEBP, a data breakpoint on MOV SS held
; until after the next instruction; then hardware task switches: CALL to a
; TSS (NT, back link, busy bits, CR0.TS) and IRET back, JMP through a task
; gate, and last a #DF delivered through a task gate in the IDT.
%include "common.inc"

STACK32         equ 0x90000
IDT32           equ 0x50000
TSS_MAIN        equ 0x53000
TSS_T2          equ 0x53100
TSS_DF          equ 0x53200
STACK_T2        equ 0x84000
STACK_DF        equ 0x86000
SEL_T2          equ SEL_SPARE0          ; 0x60 TSS of task 2
SEL_DFT         equ SEL_SPARE0 + 8      ; 0x68 TSS of the #DF task
SEL_T2GATE      equ SEL_SPARE0 + 16     ; 0x70 task gate to task 2
RF              equ 0x10000
TF              equ 0x100

; IDTGATE vector, handler, type byte (0x8E int gate, 0x85 task gate with selector)
%macro IDTGATE 3
        mov eax, %2
        mov [IDT32 + (%1) * 8], ax
        mov word [IDT32 + (%1) * 8 + 2], SEL_CODE32
        mov word [IDT32 + (%1) * 8 + 4], (%3) << 8
        shr eax, 16
        mov [IDT32 + (%1) * 8 + 6], ax
%endmacro

; TSSDESC gdt offset, base: a 32-bit available TSS, limit 103
%macro TSSDESC 2
        mov eax, %2
        mov word [gdt_table + (%1)], 103
        mov [gdt_table + (%1) + 2], ax
        shr eax, 16
        mov [gdt_table + (%1) + 4], al
        mov byte [gdt_table + (%1) + 5], 0x89
        mov byte [gdt_table + (%1) + 6], 0
        mov [gdt_table + (%1) + 7], ah
%endmacro

; TSSINIT base, eip, esp: a task that starts at eip with flat ring-0 segments
%macro TSSINIT 3
        mov edi, %1
        xor eax, eax
        mov ecx, 104 / 4
        rep stosd
        mov dword [%1 + 0x20], %2
        mov dword [%1 + 0x24], 2
        mov dword [%1 + 0x38], %3
        mov dword [%1 + 0x4C], SEL_CODE32
        mov dword [%1 + 0x48], SEL_DATA
        mov dword [%1 + 0x50], SEL_DATA
        mov dword [%1 + 0x54], SEL_DATA
        mov dword [%1 + 0x58], SEL_DATA
        mov dword [%1 + 0x5C], SEL_DATA
        mov word [%1 + 0x66], 104
%endmacro

; DBARM setrf: reset the #DB record
%macro DBARM 1
        mov dword [db_count], 0
        mov dword [db_eip], 0
        mov dword [db_setrf], %1
%endmacro

_start:
        SETUP32 STACK32
        PRINTLN "debug: pm32"

        ; ---- IDT: #DB, #UD, INT 0x30 handlers; all else not present ----
        mov edi, IDT32
        xor eax, eax
        mov ecx, 256 * 8 / 4
        rep stosd
        IDTGATE 1, db_handler, 0x8E
        IDTGATE 6, ud_handler, 0x8E
        IDTGATE 0x30, int30_handler, 0x8E
        lidt [idtr32]

        ; ---- tasks: main (TR), task 2, the #DF task ----
        TSSINIT TSS_MAIN, 0, STACK32
        TSSINIT TSS_T2, task2, STACK_T2
        TSSINIT TSS_DF, df_task, STACK_DF
        TSSDESC SEL_TSS, TSS_MAIN
        TSSDESC SEL_T2, TSS_T2
        TSSDESC SEL_DFT, TSS_DF
        mov dword [gdt_table + SEL_T2GATE], SEL_T2 << 16
        mov dword [gdt_table + SEL_T2GATE + 4], 0x8500    ; P, DPL0, task gate
        mov ax, SEL_TSS
        ltr ax

        ; ===== instruction breakpoint: a fault before the instruction, with
        ; DR6.B0; the pushed RF is 0; the handler sets RF so the IRET
        ; returns to the instruction without a second #DB (17.3.1.1) =====
        xor ebx, ebx
        mov eax, ibp_target
        mov dr0, eax
        DBARM 1
        mov eax, 0x401                  ; L0, RW0 = 00 (execute), LEN0 = 00
        mov dr7, eax
ibp_target:
        inc ebx
        mov eax, 0x400
        mov dr7, eax
        EXPECT dword [db_count], 1, "ibp: #DB count"
        EXPECT dword [db_eip], ibp_target, "ibp: saved EIP"
        EXPECT ebx, 1, "ibp: instruction ran once"
        mov eax, [db_dr6]
        and eax, 0xE00F
        EXPECT eax, 1, "ibp: DR6"
        test dword [db_eflags], RF
        jz .ibp_rf
        FAIL "ibp: RF pushed set"
.ibp_rf:
        PRINTLN "instruction breakpoint ok"

%ifdef WITH_FAULT_RF
        ; ===== other faults push RF = 1 (#UD) =====
        mov dword [ud_eflags], 0
        ud2
        test dword [ud_eflags], RF
        jnz .ud_rf
        FAIL "#UD: RF not set in the pushed EFLAGS"
.ud_rf:
        PRINTLN "fault pushes RF ok"
%endif

        ; ===== write breakpoint, 4 bytes: reads do not trigger it, a 1-byte
        ; write overlapping it does; trap after the instruction =====
        mov eax, wvar
        mov dr1, eax
        DBARM 0
        mov eax, 0x400 | (1 << 2) | (1 << 20) | (3 << 22)  ; L1, RW1 = 01, LEN1 = 11
        mov dr7, eax
        mov eax, [wvar]
        EXPECT dword [db_count], 0, "wbp: a read triggered a write breakpoint"
        mov byte [wvar + 3], 7
wbp_after:
        EXPECT dword [db_count], 1, "wbp: #DB count"
        EXPECT dword [db_eip], wbp_after, "wbp: saved EIP"
        mov eax, [db_dr6]
        and eax, 0xE00F
        EXPECT eax, 2, "wbp: DR6"
        mov byte [wvar + 4], 7          ; next dword: no hit
        EXPECT dword [db_count], 1, "wbp: write outside the range"
        EXPECT byte [wvar + 3], 7, "wbp: the write happened"
        PRINTLN "write breakpoint ok"

        ; ===== read/write breakpoint, 2 bytes at rvar+2 =====
        mov eax, rvar + 2
        mov dr2, eax
        DBARM 0
        mov eax, 0x400 | (1 << 4) | (3 << 24) | (1 << 26)  ; L2, RW2 = 11, LEN2 = 01
        mov dr7, eax
        mov al, [rvar + 4]
        EXPECT dword [db_count], 0, "rwbp: byte past the range"
        mov eax, [rvar]
rbp_after:
        EXPECT dword [db_count], 1, "rwbp: #DB count on a read"
        EXPECT dword [db_eip], rbp_after, "rwbp: saved EIP"
        mov eax, [db_dr6]
        and eax, 0xE00F
        EXPECT eax, 4, "rwbp: DR6"
        add word [rvar + 2], 1
        EXPECT dword [db_count], 2, "rwbp: #DB count on a read-modify-write"
        mov eax, 0x400
        mov dr7, eax
        PRINTLN "read/write breakpoint ok"

        ; ===== single-step: TF set by POPFD traps after each following
        ; instruction up to and including the POPFD that clears it =====
        DBARM 0
        pushfd
        or dword [esp], TF
        popfd
        nop
        nop
        pushfd
        and dword [esp], ~TF
        popfd
        EXPECT dword [db_count], 5, "single-step: trap count"
        mov eax, [db_dr6]
        and eax, 0xE00F
        EXPECT eax, 0x4000, "single-step: DR6"
        PRINTLN "single-step ok"

        ; ===== INT n under TF: no trap after INT, the handler runs with
        ; TF clear, the instruction after its IRET traps =====
        DBARM 0
        pushfd
        or dword [esp], TF
        popfd
        int 0x30
        nop
step_int_after:
        pushfd
        and dword [esp], ~TF
        popfd
        EXPECT dword [int30_tf], 0, "INT under TF: handler saw TF"
        EXPECT dword [db_count], 4, "INT under TF: trap count"
        PRINTLN "single-step over INT ok"

%ifdef WITH_GD
        ; ===== DR7.GD: MOV DR is a #DB fault with DR6.BD; the handler
        ; runs with GD clear, so the MOV succeeds on return =====
        DBARM 0
        mov eax, 0x400 | (1 << 13)
        mov dr7, eax
gd_insn:
        mov eax, dr0
        EXPECT dword [db_count], 1, "GD: #DB count"
        EXPECT dword [db_eip], gd_insn, "GD: saved EIP"
        mov eax, [db_dr6]
        and eax, 0xE00F
        EXPECT eax, 0x2000, "GD: DR6"
        test dword [db_dr7], 1 << 13
        jz .gd_clear
        FAIL "GD: still set in the handler"
.gd_clear:
        mov eax, dr7
        and eax, 1 << 13
        EXPECT eax, 0, "GD: DR7 after the handler"
        PRINTLN "general detect ok"
%endif

%ifdef WITH_ICEBP
        ; ===== INT1 (ICEBP): #DB as a trap =====
        DBARM 0
        db 0xF1
icebp_after:
        EXPECT dword [db_count], 1, "ICEBP: #DB count"
        EXPECT dword [db_eip], icebp_after, "ICEBP: saved EIP"
        PRINTLN "icebp ok"
%endif

%ifdef WITH_MOVSS_DB
        ; ===== a data breakpoint hit by MOV SS is held until after the
        ; next instruction (SDM Vol.3A 6.8.3) =====
        mov eax, ssvar
        mov dr3, eax
        DBARM 0
        mov eax, 0x400 | (1 << 6) | (3 << 28) | (1 << 30)  ; L3, RW3 = 11, LEN3 = 01
        mov dr7, eax
        mov ss, [ssvar]
        nop
movss_after:
        mov eax, 0x400
        mov dr7, eax
        EXPECT dword [db_count], 1, "MOV SS: #DB count"
        EXPECT dword [db_eip], movss_after, "MOV SS: saved EIP"
        mov eax, [db_dr6]
        and eax, 0xE00F
        EXPECT eax, 8, "MOV SS: DR6"
        PRINTLN "MOV SS data breakpoint ok"
%endif

        ; ===== CALL to a TSS: nested task, back link, busy bits, CR0.TS;
        ; its IRET (NT = 1) returns after the CALL =====
        clts
        mov dword [t2_runs], 0
        mov ebx, 0x1234
        call SEL_T2:0
        EXPECT ebx, 0x1234, "task return: EBX restored"
        EXPECT dword [t2_runs], 1, "task 2 did not run"
        EXPECT dword [t2_link], SEL_TSS, "task 2: back link"
        EXPECT dword [t2_nt], 1 << 14, "task 2: NT"
        EXPECT byte [t2_busy], 0x8B, "task 2: own TSS busy"
        mov al, [gdt_table + SEL_T2 + 5]
        EXPECT al, 0x89, "task 2 busy after its IRET"
        mov al, [gdt_table + SEL_TSS + 5]
        EXPECT al, 0x8B, "main TSS not busy"
        mov eax, cr0
        and eax, 1 << 3
        EXPECT eax, 1 << 3, "CR0.TS after a task switch"
        clts
        PRINTLN "task call/iret ok"

        ; ===== JMP through a task gate: the old task is not busy anymore,
        ; no back link; task 2 jumps back to the main TSS =====
        mov dword [TSS_T2 + 0x20], task2_jmp
        mov dword [TSS_T2 + 0x38], STACK_T2
        mov dword [TSS_T2 + 0x24], 2
        mov word [TSS_T2], 0
        mov dword [t2_main_busy], 0
        jmp SEL_T2GATE:0
jmp_back:
        EXPECT byte [t2_main_busy], 0x89, "task jmp: main TSS busy in task 2"
        mov al, [gdt_table + SEL_T2 + 5]
        EXPECT al, 0x89, "task jmp: task 2 busy after the jump back"
        EXPECT word [TSS_T2], 0, "task jmp: back link written"
        clts
        PRINTLN "task gate jmp ok"

        ; ===== #DF through a task gate: #GP whose gate is not present ->
        ; #NP -> #DF, delivered by a task switch to the #DF task =====
        mov word [IDT32 + 8 * 8 + 2], SEL_DFT
        mov word [IDT32 + 8 * 8 + 4], 0x8500
        mov ax, 0x1230
df_insn:
        mov ds, ax
        FAIL "no #DF"

; ---------------------------------------------------------------------------
task2:
        inc dword [t2_runs]
        mov ebx, 0x5678
        movzx eax, word [TSS_T2]
        mov [t2_link], eax
        pushfd
        pop eax
        and eax, 1 << 14
        mov [t2_nt], eax
        mov al, [gdt_table + SEL_T2 + 5]
        mov [t2_busy], al
        iretd
        FAIL "task 2 resumed after its IRET"

task2_jmp:
        mov al, [gdt_table + SEL_TSS + 5]
        mov [t2_main_busy], al
        pushfd
        pop eax
        test eax, 1 << 14
        jz .nont
        FAIL "task jmp: NT set"
.nont:
        mov dword [TSS_MAIN + 0x20], jmp_back
        jmp SEL_TSS:0

df_task:
        pop eax
        EXPECT eax, 0, "#DF task: error code"
        movzx eax, word [TSS_DF]
        EXPECT eax, SEL_TSS, "#DF task: back link"
        EXPECT dword [TSS_MAIN + 0x20], df_insn, "#DF task: saved EIP"
        mov al, [gdt_table + SEL_TSS + 5]
        EXPECT al, 0x8B, "#DF task: main TSS busy"
        pushfd
        pop eax
        and eax, 1 << 14
        EXPECT eax, 1 << 14, "#DF task: NT"
        PRINTLN "#DF task gate ok"
        PASS

; ---------------------------------------------------------------------------
db_handler:
        push eax
        inc dword [db_count]
        mov eax, [esp + 4]
        mov [db_eip], eax
        mov eax, [esp + 12]
        mov [db_eflags], eax
        mov eax, dr6
        mov [db_dr6], eax
        mov eax, dr7
        mov [db_dr7], eax
        xor eax, eax
        mov dr6, eax
        cmp dword [db_setrf], 0
        je .norf
        or dword [esp + 12], RF
.norf:  pop eax
        iretd

ud_handler:
        push eax
        mov eax, [esp + 12]
        mov [ud_eflags], eax
        add dword [esp + 4], 2          ; skip ud2
        pop eax
        iretd

int30_handler:
        push eax
        pushfd
        pop eax
        and eax, TF
        mov [int30_tf], eax
        pop eax
        iretd

        IO_ROUTINES p32
        GDT_TABLE

        align 8
idtr32: dw 256 * 8 - 1
        dd IDT32
db_count:  dd 0
db_eip:    dd 0
db_eflags: dd 0
db_dr6:    dd 0
db_dr7:    dd 0
db_setrf:  dd 0
ud_eflags: dd 0
int30_tf:  dd 0
t2_runs:   dd 0
t2_link:   dd 0
t2_nt:     dd 0
t2_busy:   dd 0
t2_main_busy: dd 0
        align 16
wvar:   dd 0, 0
rvar:   dd 0, 0
ssvar:  dw SEL_DATA
