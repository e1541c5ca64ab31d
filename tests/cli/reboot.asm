; reboot.asm - the guest resets the machine twice and counts its boots in
; CMOS RAM (battery-backed, so it survives a reset on a PC): boot 1 resets
; through the 8042 (command 0xFE), boot 2 through port 0x92 bit 0, boot 3
; PASSes. Under ringvm without --no-reboot, and under QEMU without
; -no-reboot, the serial output is the same.
%include "common.inc"
%define IOP p32

CMOS_BOOTS equ 0x70             ; a CMOS byte no firmware convention uses

_start:
        SETUP32 0x90000
        mov al, CMOS_BOOTS | 0x80       ; bit 7: keep NMIs off
        out 0x70, al
        in al, 0x71
        inc al
        mov bl, al
        mov al, CMOS_BOOTS | 0x80
        out 0x70, al
        mov al, bl
        out 0x71, al
        PRINT "boot "
        mov al, bl
        add al, '0'
        call p32_putc
        mov al, 10
        call p32_putc
        cmp bl, 1
        je .kbc
        cmp bl, 2
        je .port92
        cmp bl, 3
        jne .bad
        PASS
.bad:   FAIL "unexpected boot count"
.kbc:   mov al, 0xFE                    ; 8042: pulse the reset line
        out 0x64, al
        jmp .hang
.port92:
        in al, 0x92
        and al, 0xFE
        out 0x92, al
        or al, 0x03                     ; keep A20 on; bit 0 0->1: fast reset
        out 0x92, al
.hang:  cli
        hlt
        jmp .hang

        IO_ROUTINES p32
        GDT_TABLE
