; paging.asm - 32-bit paging (4 KiB pages and 4 MiB PSE pages) and PAE
; paging in 32-bit protected mode: translation, accessed/dirty bits written
; by the CPU, CR0.WP for supervisor writes, INVLPG, CR3 reload, global pages
; with CR4.PGE, aliasing, and (PAE) execute-disable.
; Architecturally undefined outcomes (e.g. whether a stale TLB entry is
; still used before INVLPG) are never printed or checked.
%include "common.inc"

STACK           equ 0x90000
IDT32           equ 0x50000
; 32-bit paging structures
PD              equ 0x30000
PT0             equ 0x31000         ; 0-4 MiB, 4 KiB pages
; PAE structures
PDPT            equ 0x34000         ; 4 entries, 32-byte aligned
PAE_PD          equ 0x35000         ; covers 0-1 GiB
PAE_PT          equ 0x36000         ; 0-2 MiB, 4 KiB pages
EFER            equ 0xC0000080
; physical test frames (identity-mapped too, for checking)
FR_A            equ 0x1D0000
FR_B            equ 0x1C0000
FR_C            equ 0x1E0000
; virtual test pages inside the 0-4 MiB page table (PT index = va >> 12)
VA_ALIAS1       equ 0x3FE000
VA_ALIAS2       equ 0x3FF000
VA_AD           equ 0x3FD000
VA_RO           equ 0x3FC000
VA_TLB          equ 0x3FB000
VA_GLOBAL       equ 0x3FA000
VA_NX           equ 0x1FF000        ; PAE part: in the 0-2 MiB page table

%define PTE(va) (PT0 + ((va) >> 12) * 4)
%define PAE_PTE(va) (PAE_PT + ((va) >> 12) * 8)

_start:
        SETUP32 STACK
        PRINTLN "paging: 32-bit"
        ; IDT: every vector -> fault handler (records vector, ec, cr2)
        xor ecx, ecx
.idt:   mov eax, fault
        mov [IDT32 + ecx * 8], ax
        mov word [IDT32 + ecx * 8 + 2], SEL_CODE32
        mov word [IDT32 + ecx * 8 + 4], 0x8E00
        shr eax, 16
        mov [IDT32 + ecx * 8 + 6], ax
        inc ecx
        cmp ecx, 32
        jb .idt
        mov dword [IDT32 + 14 * 8], 0   ; #PF gets its own entry (has ec)
        mov eax, pf_handler
        mov [IDT32 + 14 * 8], ax
        mov word [IDT32 + 14 * 8 + 2], SEL_CODE32
        mov word [IDT32 + 14 * 8 + 4], 0x8E00
        shr eax, 16
        mov [IDT32 + 14 * 8 + 6], ax
        lidt [idtr]

        ; markers in the physical frames (paging still off)
        mov dword [FR_A], 0xAAAA0001
        mov dword [FR_B], 0xBBBB0002
        mov dword [FR_C], 0xCCCC0003

        ; ---- 32-bit paging tables (SDM Vol.3A 4.3) ----
        mov edi, PD
        xor eax, eax
        mov ecx, 2 * 4096 / 4
        rep stosd
        mov edi, PT0                    ; identity 0-4 MiB, P|RW
        mov eax, 3
        mov ecx, 1024
.pt:    stosd
        add eax, 4096
        loop .pt
        mov dword [PD + 0 * 4], PT0 | 3
        mov dword [PD + 1 * 4], 0x400000 | 0x83         ; 4 MiB: PS|RW|P
        mov dword [PD + 2 * 4], 0x1000000 | 0x83        ; VA 8M -> PA 16M
        mov dword [PTE(VA_ALIAS1)], FR_A | 3
        mov dword [PTE(VA_ALIAS2)], FR_A | 3
        mov dword [PTE(VA_AD)], FR_C | 3                ; A=D=0
        mov dword [PTE(VA_RO)], FR_B | 1                ; read-only
        mov dword [PTE(VA_TLB)], FR_A | 3
        mov dword [0x1000000], 0x16161616               ; PA 16 MiB
        mov eax, PD
        mov cr3, eax
        mov eax, cr4
        or eax, 1 << 4                  ; PSE
        mov cr4, eax
        mov eax, cr0
        or eax, 0x80000000              ; PG (WP stays 0 for now)
        and eax, ~(1 << 16)
        mov cr0, eax
        PRINTLN "paging on"

        ; 4 MiB page, non-identity: VA 0x800000 + x -> PA 0x1000000 + x
        EXPECT dword [0x800000], 0x16161616, "4 MiB PSE page translation"
        mov dword [0x800000 + 0x3FFFFC], 0x5EE0FFFF     ; top of the page
        mov dword [0x800000 + 0x1FFFFC], 0x2222FFFC     ; for the PAE part
        PRINTLN "pse 4M page ok"

        ; aliasing: two VAs and the identity map all see one frame
        EXPECT dword [VA_ALIAS1], 0xAAAA0001, "alias 1 read"
        mov dword [VA_ALIAS2 + 4], 0x12345678
        EXPECT dword [VA_ALIAS1 + 4], 0x12345678, "write via alias 2, read via alias 1"
        EXPECT dword [FR_A + 4], 0x12345678, "write via alias, read identity"
        PRINTLN "aliasing ok"

        ; accessed / dirty (SDM Vol.3A 4.8): read sets A, write sets D;
        ; the PDE referencing the page table gets A.
        and dword [PD], ~0x20
        invlpg [VA_AD]
        mov eax, [VA_AD]
        EXPECT eax, 0xCCCC0003, "A/D page read"
        PRINT "pte after read  "
        mov eax, [PTE(VA_AD)]
        call p32_hex32
        call p32_nl
        EXPECT dword [PTE(VA_AD)], FR_C | 0x23, "PTE after read: A set, D clear"
        test dword [PD], 0x20
        jnz .pda
        FAIL "PDE.A not set"
.pda:   mov dword [VA_AD + 8], 1
        PRINT "pte after write "
        mov eax, [PTE(VA_AD)]
        call p32_hex32
        call p32_nl
        EXPECT dword [PTE(VA_AD)], FR_C | 0x63, "PTE after write: A and D set"
        ; 4 MiB page PDE: A on read, D on write (PDE.D exists only for PS=1)
        mov eax, [PD + 2 * 4]
        and eax, 0x60
        EXPECT eax, 0x60, "4 MiB PDE: A and D after access"
        mov eax, [PD + 1 * 4]
        and eax, 0x60
        EXPECT eax, 0, "untouched 4 MiB PDE: A and D clear"
        PRINTLN "accessed/dirty ok"

        ; CR0.WP: a supervisor write to a read-only page succeeds with
        ; WP=0 and faults with WP=1 (SDM Vol.3A 4.6.1)
        mov dword [VA_RO], 0x0B0B0B0B
        EXPECT dword [FR_B], 0x0B0B0B0B, "WP=0 supervisor write to RO page"
        mov eax, cr0
        or eax, 1 << 16
        mov cr0, eax
        mov dword [pf_count], 0
        mov dword [pf_resume], .wp_r
        mov dword [VA_RO + 4], 0x0C0C0C0C
.wp_r:  EXPECT dword [pf_count], 1, "WP=1 write to RO page: no #PF"
        EXPECT dword [pf_ec], 3, "WP=1 #PF error code"
        EXPECT dword [pf_cr2], VA_RO + 4, "WP=1 #PF CR2"
        EXPECT dword [FR_B + 4], 0, "WP=1 write reached memory"
        PRINTLN "cr0.wp ok"

        ; INVLPG makes a changed PTE visible (SDM Vol.3A 4.10.4.1). The value
        ; read before INVLPG may be stale or not: not checked.
        EXPECT dword [VA_TLB], 0xAAAA0001, "TLB page before change"
        mov dword [PTE(VA_TLB)], FR_B | 3
        mov eax, [VA_TLB]               ; either frame: undefined, ignored
        invlpg [VA_TLB]
        EXPECT dword [VA_TLB], 0x0B0B0B0B, "INVLPG: new mapping not seen"
        ; a CR3 write flushes non-global entries
        mov dword [PTE(VA_TLB)], FR_C | 3
        mov eax, cr3
        mov cr3, eax
        EXPECT dword [VA_TLB], 0xCCCC0003, "CR3 reload: new mapping not seen"
        PRINTLN "invlpg / cr3 reload ok"

        ; global page: with CR4.PGE, G=1 entries survive CR3 writes (maybe),
        ; but toggling CR4.PGE flushes everything (SDM Vol.3A 4.10.4.1)
        mov eax, cr4
        or eax, 1 << 7
        mov cr4, eax
        mov dword [PTE(VA_GLOBAL)], FR_A | 0x103        ; G|RW|P
        invlpg [VA_GLOBAL]
        EXPECT dword [VA_GLOBAL], 0xAAAA0001, "global page read"
        mov dword [PTE(VA_GLOBAL)], FR_B | 0x103
        mov eax, cr3
        mov cr3, eax
        mov eax, [VA_GLOBAL]            ; stale or new: undefined, ignored
        mov eax, cr4
        and eax, ~(1 << 7)
        mov cr4, eax
        or eax, 1 << 7
        mov cr4, eax
        EXPECT dword [VA_GLOBAL], 0x0B0B0B0B, "CR4.PGE toggle: new mapping not seen"
        mov dword [PTE(VA_GLOBAL)], FR_C | 0x103
        invlpg [VA_GLOBAL]
        EXPECT dword [VA_GLOBAL], 0xCCCC0003, "INVLPG of a global page"
        PRINTLN "global pages ok"

        ; not-present read: #PF ec=0
        mov dword [pf_count], 0
        mov dword [pf_resume], .np_r
        mov eax, [0xC00000 + 0x10]      ; PDE[3] not present
.np_r:  EXPECT dword [pf_count], 1, "not-present PDE: no #PF"
        EXPECT dword [pf_ec], 0, "not-present #PF error code"
        EXPECT dword [pf_cr2], 0xC00010, "not-present #PF CR2"
        PRINTLN "not-present ok"

        ; ---- PAE paging in 32-bit mode (SDM Vol.3A 4.4) ----
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        PRINTLN "paging: PAE"
        mov edi, PDPT
        xor eax, eax
        mov ecx, 3 * 4096 / 4
        rep stosd
        mov dword [PDPT], PAE_PD | 1    ; PDPTEs: only P (RW/US reserved)
        mov dword [PAE_PD + 0 * 8], PAE_PT | 3
        mov dword [PAE_PD + 1 * 8], 0x200000 | 0x83     ; 2 MiB identity
        mov dword [PAE_PD + 2 * 8], 0x1000000 | 0x83    ; VA 4M -> PA 16M
        mov edi, PAE_PT
        mov eax, 3
        mov ecx, 512
.ppt:   mov [edi], eax
        mov dword [edi + 4], 0
        add eax, 4096
        add edi, 8
        loop .ppt
        mov dword [PAE_PTE(VA_NX)], FR_C | 3
        mov dword [PAE_PTE(VA_NX) + 4], 0x80000000      ; XD
        mov ecx, EFER
        rdmsr
        or eax, 1 << 11                 ; NXE
        wrmsr
        mov eax, cr4
        or eax, 1 << 5                  ; PAE
        mov cr4, eax
        mov eax, PDPT
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        EXPECT dword [0x400000], 0x16161616, "PAE 2 MiB page translation"
        EXPECT dword [0x400000 + 0x1FFFFC], 0x2222FFFC, "PAE 2 MiB page, last dword"
        mov eax, [PAE_PD + 2 * 8]
        and eax, 0x60
        EXPECT eax, 0x20, "PAE 2 MiB PDE: A set, D clear after read"
        ; data read of an XD page is fine; instruction fetch faults
        EXPECT dword [VA_NX], 0xCCCC0003, "read of XD page"
        mov eax, [PAE_PTE(VA_NX)]
        and eax, 0x60
        EXPECT eax, 0x20, "PAE PTE: A set after read"
        mov dword [pf_count], 0
        mov dword [pf_resume], .nx_r
        mov eax, VA_NX
        jmp eax
.nx_r:  EXPECT dword [pf_count], 1, "fetch from XD page: no #PF"
        EXPECT dword [pf_ec], 0x11, "XD fetch #PF error code"
        EXPECT dword [pf_cr2], VA_NX, "XD fetch #PF CR2"
        PRINTLN "pae ok"
        PASS

pf_handler:
        ; [esp] ec, +4 EIP
        push eax
        mov eax, [esp + 4]
        mov [pf_ec], eax
        mov eax, cr2
        mov [pf_cr2], eax
        inc dword [pf_count]
        mov eax, [pf_resume]
        mov [esp + 8], eax
        pop eax
        add esp, 4
        iretd

fault:
        FAIL "unexpected exception"

        IO_ROUTINES p32
        align 8
idtr:   dw 32 * 8 - 1
        dd IDT32
pf_count:  dd 0
pf_ec:     dd 0
pf_cr2:    dd 0
pf_resume: dd 0
        GDT_TABLE
