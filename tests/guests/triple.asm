; triple.asm - deliberately triple-faults. With an IDT whose limit is 0 no
; vector can be delivered: int3 -> #GP (vector 3's gate lies beyond the IDT
; limit, SDM Vol.3A 6.10/6.12.1.1, error code = (3<<3)|2 IDT bit). The #GP
; itself cannot be delivered either: a second contributory fault while
; delivering #GP -> #DF (SDM Vol.3A Table 6-5), and #DF cannot be delivered
; -> triple fault -> shutdown (SDM Vol.3A 6.15, Interrupt 8).
; QEMU -no-reboot exits with status 0; only the printed output is compared.
%include "common.inc"
_start:
        SETUP32 0x90000
        PRINTLN "about to triple fault"
        lidt [empty_idtr]
        int3
        ; never reached
        FAIL "no triple fault"

        IO_ROUTINES p32
        GDT_TABLE
empty_idtr:
        dw 0                            ; limit 0: not even one byte of a gate
        dd 0
