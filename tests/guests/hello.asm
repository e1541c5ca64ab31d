; hello.asm - smallest guest: one line over COM1, then PASS via port 0xF4.
%include "common.inc"
_start:
        SETUP32 0x90000
        PRINTLN "hello from ringvm guest"
        PASS

        IO_ROUTINES p32
        GDT_TABLE
