; loop.asm - speed measurement guest: 20 million iterations (the test suite)
; or, built with -DLONG_LOOP, 200 million (make bench) of a short ALU loop in 32-bit protected mode. The loop folds its counter into two
; registers so the printed checksum proves every iteration ran with the
; right semantics (add/xor/rol/add carry-less mixing; no memory traffic).
; Expected values computed by the equivalent C:
;   a=0x12345678, b=0x9E3779B9, c=ITER
;   do { a+=c; b^=a; a=rotl(a,1); b+=0x6D2B79F5; } while(--c);
%include "common.inc"
%ifdef LONG_LOOP
%define ITER 200000000
%define SUM_A 0x99129de9
%define SUM_B 0xb2329af9
%else
%define ITER 20000000
%define SUM_A 0x1496b078
%define SUM_B 0x0a9378b9
%endif
%defstr ITER_STR ITER
_start:
        SETUP32 0x90000
        PRINTLN "loop: ", ITER_STR, " iterations"
        mov eax, 0x12345678
        mov ebx, 0x9E3779B9
        mov ecx, ITER
        align 16
.l:     add eax, ecx
        xor ebx, eax
        rol eax, 1
        add ebx, 0x6D2B79F5
        dec ecx
        jnz .l
        mov esi, eax
        PRINT "checksum "
        call p32_hex32
        mov al, ' '
        call p32_putc
        mov eax, ebx
        call p32_hex32
        call p32_nl
        EXPECT esi, SUM_A, "loop checksum a"
        EXPECT ebx, SUM_B, "loop checksum b"
        PASS

        IO_ROUTINES p32
        GDT_TABLE
