; serial.asm - COM1 receive and transmit interrupts on IRQ 4 (8259 vector
; 0x24): the guest sleeps in HLT, takes an RX interrupt per byte, collects
; one line, then sends "got: LINE" back by THR-empty interrupts, and PASSes.
; A byte 'r' as the whole line asks for a reset through the 8042 (0xFE).
%include "common.inc"

IDT32   equ 0x50000
COM1    equ 0x3F8

_start:
        SETUP32 0x90000
        xor ecx, ecx
.idt:   mov eax, unexpected
        cmp ecx, 0x24
        jne .g
        mov eax, com1_irq
.g:     mov [IDT32 + ecx * 8], ax
        mov word [IDT32 + ecx * 8 + 2], SEL_CODE32
        mov word [IDT32 + ecx * 8 + 4], 0x8E00
        shr eax, 16
        mov [IDT32 + ecx * 8 + 6], ax
        inc ecx
        cmp ecx, 256
        jb .idt
        lidt [idtr]
        ; 8259: vectors 0x20 / 0x28, only IRQ 4 open
        mov al, 0x11
        out 0x20, al
        out 0xA0, al
        mov al, 0x20
        out 0x21, al
        mov al, 0x28
        out 0xA1, al
        mov al, 4
        out 0x21, al
        mov al, 2
        out 0xA1, al
        mov al, 1
        out 0x21, al
        out 0xA1, al
        mov al, 0xEF
        out 0x21, al
        mov al, 0xFF
        out 0xA1, al
        ; UART: FIFOs on, OUT2 (the PC's IRQ gate), RX interrupt
        mov dx, COM1 + 2
        mov al, 0x07
        out dx, al
        mov dx, COM1 + 4
        mov al, 0x0B
        out dx, al
        mov dx, COM1 + 1
        mov al, 0x01
        out dx, al
.wait:  sti
        hlt
        cli
        cmp byte [line_done], 0
        je .wait
        ; the line is in; transmit "got: LINE\n" by THRE interrupts
        cmp dword [line_len], 1
        jne .tx
        cmp byte [line], 'r'
        jne .tx
        mov al, 0xFE                    ; 8042: pulse reset
        out 0x64, al
        jmp .wait
.tx:    mov esi, msg_got
        mov edi, txbuf
.c1:    lodsb
        test al, al
        jz .c2
        stosb
        jmp .c1
.c2:    mov esi, line
        mov ecx, [line_len]
        rep movsb
        mov al, 10
        stosb
        sub edi, txbuf
        mov [tx_len], edi
        mov dword [tx_pos], 0
        mov dx, COM1 + 1
        mov al, 0x03                    ; RX + THRE: THRE fires at once
        out dx, al
.txw:   sti
        hlt
        cli
        mov eax, [tx_pos]
        cmp eax, [tx_len]
        jb .txw
        mov dx, COM1 + 1
        xor al, al
        out dx, al
        PASS

com1_irq:
        pushad
.again: mov dx, COM1 + 2
        in al, dx                       ; IIR (reading it acknowledges THRE)
        test al, 1
        jnz .done
        and al, 0x0E
        cmp al, 0x04
        je .rx
        cmp al, 0x0C
        je .rx
        cmp al, 0x02
        jne .again
        mov eax, [tx_pos]               ; THR empty: next byte
        cmp eax, [tx_len]
        jae .again
        mov al, [txbuf + eax]
        inc dword [tx_pos]
        mov dx, COM1
        out dx, al
        jmp .again
.rx:    mov dx, COM1 + 5
        in al, dx
        test al, 1
        jz .again
        mov dx, COM1
        in al, dx
        cmp byte [line_done], 0
        jne .rx
        cmp al, 10
        je .eol
        mov ecx, [line_len]
        cmp ecx, 200
        jae .rx
        mov [line + ecx], al
        inc dword [line_len]
        jmp .rx
.eol:   mov byte [line_done], 1
        jmp .rx
.done:  mov al, 0x20
        out 0x20, al
        popad
        iretd

unexpected:
        mov esi, .m
        jmp p32_fail
.m:     db "unexpected interrupt or exception", 0

msg_got: db "got: ", 0
        align 4
line_len:  dd 0
line_done: db 0
        align 4
tx_len:    dd 0
tx_pos:    dd 0
line:      times 256 db 0
txbuf:     times 300 db 0
        align 8
idtr:   dw 256 * 8 - 1
        dd IDT32

        IO_ROUTINES p32
        GDT_TABLE
