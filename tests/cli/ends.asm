; ends.asm - ways a guest run ends, chosen by the command line (--append):
;   "halt"   cli; hlt            -> every vCPU halted for good (status 8)
;   "sti"    sti; hlt            -> halted, no interrupt source (status 8)
;   "exit32" out 0xF4 with a 32-bit value 0x12345678 -> ((v << 1) | 1) & 0xff
;   "spin"   loop forever (for SIGINT/SIGTERM)
; The command line is "PATH WORD": the word follows the first space.
%include "common.inc"
_start:
        mov esi, [ebx + 16]             ; multiboot cmdline
.skip:  lodsb
        test al, al
        jz .spin
        cmp al, ' '
        jne .skip
        mov eax, [esi]
        cmp eax, 'halt'
        je .halt
        cmp eax, 'sti'
        je .sti                         ; "sti" + NUL
        cmp eax, 'exit'
        je .exit32
.spin:  jmp .spin
.halt:  cli
        hlt
        jmp .halt
.sti:   sti
        hlt
        jmp .sti
.exit32:
        mov eax, 0x12345678
        out 0xF4, eax
        jmp .spin

        IO_ROUTINES p32
        GDT_TABLE
