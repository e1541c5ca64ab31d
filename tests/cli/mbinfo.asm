; mbinfo.asm - prints what the multiboot loader handed over: magic, info
; flags, mem_lower/mem_upper, the command line, module 0 (string, size,
; page alignment, first bytes) and the RAM entries of the memory map that
; start at 0 and 1 MiB. Run by multiboot.sh under ringvm and QEMU.
%include "common.inc"
_start:
        mov edi, eax                    ; magic
        mov ebp, ebx                    ; info
        SETUP32 0x90000
        PRINT "magic "
        mov eax, edi
        call p32_hex32
        call p32_nl
        PRINT "flags "
        mov eax, [ebp]
        and eax, 0x4d                   ; mem, cmdline, mods, mmap: both loaders set these
        call p32_hex32
        call p32_nl
        PRINT "mem_lower "
        mov eax, [ebp + 4]
        call p32_hex32
        PRINT " mem_upper "
        mov eax, [ebp + 8]
        call p32_hex32
        call p32_nl
        PRINT "cmdline '"
        mov esi, [ebp + 16]
        call p32_puts
        PRINTLN "'"
        PRINT "mods "
        mov eax, [ebp + 20]
        call p32_hex32
        call p32_nl
        cmp dword [ebp + 20], 0
        je .nomod
        mov ebx, [ebp + 24]             ; module 0
        PRINT "mod0 '"
        mov esi, [ebx + 8]
        call p32_puts
        PRINT "' size "
        mov eax, [ebx + 4]
        sub eax, [ebx]
        call p32_hex32
        PRINT " page-aligned "
        mov eax, [ebx]
        and eax, 0xfff
        call p32_hex32
        PRINT " starts '"
        mov esi, [ebx]
        mov ecx, 8
.mc:    lodsb
        call p32_putc
        loop .mc
        PRINTLN "'"
.nomod:
        ; memory map: print RAM (type 1) entries that start at 0 or 1 MiB
        mov ebx, [ebp + 48]             ; mmap_addr
        mov ecx, [ebp + 44]             ; mmap_length
        add ecx, ebx
.mm:    cmp ebx, ecx
        jae .mmdone
        cmp dword [ebx + 20], 1
        jne .next
        cmp dword [ebx + 8], 0          ; base high
        jne .next
        mov eax, [ebx + 4]
        test eax, eax
        jz .show
        cmp eax, 0x100000
        jne .next
.show:  PRINT "ram "
        call p32_hex32
        PRINT " len "
        mov eax, [ebx + 12]
        call p32_hex32
        call p32_nl
.next:  add ebx, [ebx]
        add ebx, 4
        jmp .mm
.mmdone:
        PASS

        IO_ROUTINES p32
        GDT_TABLE
