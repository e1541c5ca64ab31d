; poweroff.asm - ACPI S5 the way an OS does it, with no knowledge of the VMM:
; find the RSDP by scanning 0xE0000-0xFFFFF (ACPI 6.4, 5.2.5.1), follow the
; RSDT to the FADT (checking signatures and checksums), take PM1a_CNT_BLK
; and the DSDT from it, find the \_S5_ package in the DSDT by a byte search
; for "_S5_" + PackageOp and take its SLP_TYPa, then write SLP_TYP | SLP_EN
; to PM1a_CNT. The machine must switch off: ringvm and QEMU both exit with
; status 0. Reaching the line after the write is a FAIL.
; The RSDT (not the XSDT) is used since QEMU's RSDP is revision 0; SLP_TYP
; is not printed: QEMU's PIIX4 uses 0 for S5, ringvm 5.
%define IOP p32
%include "common.inc"

SLP_EN  equ 1 << 13

_start:
        SETUP32 0x90000
        PRINTLN "poweroff: looking for the RSDP"

        ; RSDP: "RSD PTR " on a 16-byte boundary, first 20 bytes sum to 0.
        mov esi, 0xe0000
.scan:
        cmp dword [esi], 'RSD '
        jne .next
        cmp dword [esi + 4], 'PTR '
        jne .next
        mov ecx, 20
        call checksum
        test al, al
        jz .found
.next:
        add esi, 16
        cmp esi, 0x100000
        jb .scan
        FAIL "no RSDP in 0xE0000-0xFFFFF"
.found:
        PRINTLN "RSDP found, checksum ok"

        mov esi, [esi + 16]             ; RsdtAddress
        cmp dword [esi], 'RSDT'
        je .rsdt_ok
        FAIL "RsdtAddress does not point at an RSDT"
.rsdt_ok:
        mov ecx, [esi + 4]
        call checksum
        EXPECT al, 0, "RSDT checksum"
        PRINTLN "RSDT checksum ok"

        ; Entries: (Length - 36) / 4 table addresses; find "FACP".
        mov ecx, [esi + 4]
        sub ecx, 36
        shr ecx, 2
        lea ebx, [esi + 36]
.entry:
        test ecx, ecx
        jz .no_fadt
        mov edi, [ebx]
        cmp dword [edi], 'FACP'
        je .fadt
        add ebx, 4
        dec ecx
        jmp .entry
.no_fadt:
        FAIL "no FADT in the RSDT"
.fadt:
        mov esi, edi
        mov ecx, [esi + 4]
        call checksum
        EXPECT al, 0, "FADT checksum"
        PRINTLN "FADT found, checksum ok"
        mov eax, [esi + 64]             ; PM1a_CNT_BLK
        test eax, eax
        jnz .cnt_ok
        FAIL "FADT has no PM1a_CNT_BLK"
.cnt_ok:
        mov [pm1a_cnt], eax
        mov esi, [esi + 40]             ; DSDT
        cmp dword [esi], 'DSDT'
        je .dsdt_ok
        FAIL "FADT's DSDT pointer is not a DSDT"
.dsdt_ok:
        mov ecx, [esi + 4]
        call checksum
        EXPECT al, 0, "DSDT checksum"
        PRINTLN "DSDT found, checksum ok"

        ; "_S5_" followed by PackageOp (0x12), PkgLength, NumElements, SLP_TYPa.
        mov edx, esi
        add edx, [esi + 4]
        sub edx, 8                      ; room for the name and the package head
        lea edi, [esi + 36]
.s5:
        cmp edi, edx
        jae .no_s5
        cmp dword [edi], '_S5_'
        jne .s5_next
        cmp byte [edi + 4], 0x12
        je .s5_found
.s5_next:
        inc edi
        jmp .s5
.no_s5:
        FAIL "no \_S5_ package in the DSDT"
.s5_found:
        movzx eax, byte [edi + 5]       ; PkgLength lead byte: bits 7:6 = extra bytes
        shr eax, 6
        lea edi, [edi + 6 + eax]        ; NumElements
        inc edi                         ; first element
        movzx eax, byte [edi]
        cmp al, 0x0a                    ; BytePrefix
        jne .s5_const
        movzx eax, byte [edi + 1]
        jmp .s5_have
.s5_const:
        cmp al, 1                       ; ZeroOp 0 or OneOp 1: the value itself
        jbe .s5_have
        FAIL "\_S5_ SLP_TYPa is not a byte constant"
.s5_have:
        and eax, 7
        shl eax, 10
        or eax, SLP_EN
        PRINTLN "\_S5_ found, entering S5"
        mov edx, [pm1a_cnt]
        out dx, ax
        ; A little grace for the VMM to stop the vCPU, then this is a failure.
        mov ecx, 1000000
.wait:
        dec ecx
        jnz .wait
        FAIL "still running after SLP_EN with S5"

; checksum: AL = sum of ECX bytes at ESI (0 for a valid table). Keeps ESI.
checksum:
        push esi
        push ecx
        xor eax, eax
.loop:
        add al, [esi]
        inc esi
        dec ecx
        jnz .loop
        pop ecx
        pop esi
        ret

pm1a_cnt: dd 0

        IO_ROUTINES p32
        GDT_TABLE
