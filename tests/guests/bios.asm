; bios.asm - a 64 KiB firmware ROM started at the reset vector, like a PC.
; The ROM is mapped at 0xF0000-0xFFFFF and at 0xFFFF0000-0xFFFFFFFF. The CPU
; starts at CS=F000 (base FFFF0000), IP=FFF0 (SDM Vol.3A 10.1.4); the far
; jump there reloads CS with a real-mode base of 0xF0000.
; Real mode: reset CR0 value, stack, an IVT entry and INT, UART output,
; segment arithmetic, 16-bit offset wraparound; then protected mode with
; segment bases of 0xF0000 (code and read-only data in ROM) and a flat data
; segment, and a check that both ROM mappings hold the same bytes.
; Nothing is written to the ROM (QEMU treats it as read-only); the GDT in ROM
; has its accessed bits preset so loading a selector does not write it
; (SDM Vol.3A 3.4.5.1, type field "accessed").
%define MB_NO_HEADER
%include "common.inc"
        bits 16
        org 0                           ; offsets within segment F000

%define IOP p16
start:
        cli
        cld
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov es, ax
        mov ax, cs
        mov ds, ax                      ; strings live in the ROM
        PRINTLN "bios: reset vector"
        mov ax, cs
        EXPECT ax, 0xF000, "CS after the reset-vector far jump"
        ; power-up CR0 = 60000010H: CD, NW, ET (SDM Vol.3A Table 10-1)
        mov eax, cr0
        EXPECT eax, 0x60000010, "CR0 at reset"
        PRINTLN "real mode, cr0 = 60000010"

        ; IVT entry 0x50 -> F000:int50 (IVT at 0:0, 4 bytes per vector)
        mov word [es:0x50 * 4], int50
        mov word [es:0x50 * 4 + 2], cs
        mov ax, 0x4000
        int 0x50
int50_ret:
        EXPECT ax, 0x4001, "int 0x50 result"
        PRINTLN "int 0x50 via IVT ok"

        ; segment arithmetic: 0x0100:0x0010 and 0x0101:0x0000 are both
        ; linear 0x1010
        mov ax, 0x0100
        mov es, ax
        mov word [es:0x0010], 0x55AA
        mov ax, 0x0101
        mov fs, ax
        EXPECT word [fs:0x0000], 0x55AA, "seg:off aliasing"
        ; 16-bit offset wraparound: BX+SI = 0x10010 -> offset 0x0010
        mov bx, 0xFFF0
        mov si, 0x0020
        EXPECT byte [es:bx + si], 0xAA, "16-bit effective address wraparound"
        ; offset 0xFFFF: the last byte of a segment; 0x0FFF:0x000F is the
        ; same linear byte 0xFFFF
        mov ax, 0x0FFF
        mov es, ax
        mov byte [es:0x000F], 0x5A
        xor ax, ax
        mov gs, ax
        EXPECT byte [gs:0xFFFF], 0x5A, "byte at offset 0xFFFF"
        ; 16-bit arithmetic
        mov ax, 0x8000
        add ax, ax
        jc .c
        FAIL "16-bit add carry"
.c:     EXPECT ax, 0, "16-bit add result"
        mov ax, -7
        cwd
        mov cx, 2
        idiv cx
        EXPECT ax, -3, "16-bit idiv quotient"
        EXPECT dx, -1, "16-bit idiv remainder"
        PRINTLN "real-mode addressing and arithmetic ok"

        ; to protected mode (SDM Vol.3A 10.9.1); LGDT with 32-bit operand
        ; so the base is a full linear address
        o32 lgdt [gdtr]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword 0x08:pm_entry         ; CS base 0xF0000: offsets = labels

int50:
        push bp
        mov bp, sp
        EXPECT word [bp + 2], int50_ret, "int 0x50 frame IP"
        EXPECT word [bp + 4], 0xF000, "int 0x50 frame CS"
        pop bp
        inc ax
        iret

        IO_ROUTINES p16

; ---------------------------------------------------------------------------
        bits 32
%define IOP p32
pm_entry:
        mov ax, 0x10                    ; read-only data, base 0xF0000
        mov ds, ax
        mov ax, 0x18                    ; flat read/write data
        mov ss, ax
        mov es, ax
        mov esp, 0x7000
        PRINTLN "protected mode, segment base f0000"
        ; the same byte through the based DS and the flat ES
        mov al, [reset_vector]
        EXPECT al, [es:0xF0000 + reset_vector], "DS base 0xF0000"
        EXPECT al, 0xEA, "far jmp opcode at the reset vector"
        ; the ROM is also mapped just below 4 GiB
        mov eax, [es:0xFFFFFFF0]
        EXPECT eax, [es:0x000FFFF0], "ROM at 4 GiB - 16 vs 0xFFFF0"
        mov eax, [es:0xFFFF0000]
        EXPECT eax, [es:0x000F0000], "ROM at 4 GiB - 64 KiB vs 0xF0000"
        ; RAM through the flat segment
        mov dword [es:0x8000], 0xC0FFEE00
        EXPECT dword [es:0x8000], 0xC0FFEE00, "RAM write/read in protected mode"
        PRINTLN "rom aliases and ram ok"
        PASS

        IO_ROUTINES p32

        align 8
gdt:    dq 0
        GDESC 0xF0000, 0x0FFFF, 0x9B, 0x4       ; 0x08 code32, base F0000, accessed
        GDESC 0xF0000, 0x0FFFF, 0x91, 0x4       ; 0x10 data read-only, accessed
        GDESC 0, 0xFFFFF, 0x93, 0xC             ; 0x18 flat data, accessed
gdt_end:
gdtr:   dw gdt_end - gdt - 1
        dd 0xF0000 + gdt

        times 0xFFF0 - ($ - $$) db 0xFF
        bits 16                         ; the CPU is in real mode here
reset_vector:
        jmp 0xF000:start                ; EA: far jmp, reloads CS
        times 0x10000 - ($ - $$) db 0xFF
