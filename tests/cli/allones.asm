; allones.asm - reads of unclaimed ports and of unmapped guest-physical
; memory must return all ones (an undriven bus), and writes must be dropped.
; Run by unmapped.sh with --mem 64M, so 0x10000000 (256 MiB) is a hole.
%include "common.inc"
HOLE    equ 0x10000000
_start:
        SETUP32 0x90000
        mov dx, 0x1234                  ; no device there
        in al, dx
        EXPECT al, 0xFF, "in al from an unclaimed port"
        in ax, dx
        EXPECT ax, 0xFFFF, "in ax from an unclaimed port"
        in eax, dx
        EXPECT eax, 0xFFFFFFFF, "in eax from an unclaimed port"
        mov al, 0x55
        out dx, al                      ; dropped
        in al, dx
        EXPECT al, 0xFF, "write to an unclaimed port is dropped"
        mov eax, [HOLE]
        EXPECT eax, 0xFFFFFFFF, "dword read of unmapped memory"
        mov dword [HOLE], 0x12345678    ; dropped
        mov eax, [HOLE]
        EXPECT eax, 0xFFFFFFFF, "write to unmapped memory is dropped"
        movzx eax, word [HOLE + 2]
        EXPECT eax, 0xFFFF, "word read of unmapped memory"
        mov al, [0xA0000]               ; legacy VGA window: not RAM
        EXPECT al, 0xFF, "byte read of the VGA hole"
        PRINTLN "all ones"
        PASS

        IO_ROUTINES p32
        GDT_TABLE
