; svm_asid.asm - ASIDs and TLB control (AMD APM vol. 2, 15.16) under a
; pm32 L1 hypervisor, run with --cpu svm=on (svm_asid.args; QEMU: -cpu
; max,+svm). Two pm32 L2s with 32-bit paging, ASID 1 and ASID 2, map the
; same two virtual pages, a data page (GVA) and a code page (GVA_CODE),
; each to pages of their own. Only what the manual guarantees is checked
; (a TLB may keep a stale entry or drop it; a test of the entries ringvm
; keeps is in tests/unit/test_svm.c):
;   (a) runs of the two ASIDs, alternating with TLB_CONTROL 0: each reads
;       its own data and runs its own code at the same addresses
;   (b) L1 changes ASID 1's data PTE: with TLB_CONTROL 3 (this guest's
;       entries) ASID 1 reads the new page
;   (c) L1 changes it back and INVLPGA's the page in ASID 1: the next run
;       with TLB_CONTROL 0 reads the old page again
;   (d) INVLPGA of ASID 2 after a change of its PTE: ASID 2 sees the new
;       page, ASID 1 keeps its own
;   (e) a changed code PTE with TLB_CONTROL 3: the other code runs
;   (f) a changed code PTE with TLB_CONTROL 7 (non-global entries)
;   (g) an L2 that changes its own PTE and runs INVLPG (not intercepted)
;       reads the new page; the other ASID keeps its own
; WITH_APM (QEMU 7.2 does not offer it): CPUID 8000_000A EDX.FlushByAsid,
; and at least 16 ASIDs in EBX.
%include "common.inc"
%include "svm.inc"

VMCB            equ 0x200000
HSAVE           equ 0x201000
PD1             equ 0x210000            ; ASID 1's page directory and table
PT1             equ 0x211000
PD2             equ 0x212000            ; ASID 2's
PT2             equ 0x213000
PAGE_A          equ 0x220000            ; data pages
PAGE_B          equ 0x221000
PAGE_C          equ 0x222000
PAGE_D          equ 0x223000
CODE1           equ 0x224000            ; code pages
CODE2           equ 0x225000
L2_STACK        equ 0x280000
STACK32         equ 0x90000
GVA             equ 0x400000            ; PDE 1, PTE 0
GVA_CODE        equ 0x401000            ; PDE 1, PTE 1

; RUN asid, tlb_control, data, code, "what": one run of l2_entry; the
; data it read (RAX in the VMCB) and the code it ran (EBX, which VMRUN
; and #VMEXIT leave alone) must be those.
%macro RUN 5
        mov dword [VMCB + V_ASID], %1
        mov dword [VMCB + V_CR3], PD%1
        mov dword [VMCB + V_TLB_CTL], %2
        mov dword [VMCB + V_RIP], l2_entry
        call run_l2
        call print_run
        EXPECT dword [VMCB + V_EXITCODE], 0x81, %5
        EXPECT dword [VMCB + V_RAX], %3, %5
        EXPECT ebx, %4, %5
%endmacro

_start:
        SETUP32 STACK32
        PRINTLN "svm_asid: L1 hypervisor, two ASIDs"
        mov ecx, MSR_EFER
        rdmsr
        or eax, 1 << 12                 ; SVME
        wrmsr
        mov ecx, MSR_HSAVE
        mov eax, HSAVE
        xor edx, edx
        wrmsr
%ifdef WITH_APM
        mov eax, 0x8000000A
        cpuid
        test edx, 1 << 6
        jnz .flush_by_asid
        FAIL "CPUID 8000_000A EDX.FlushByAsid clear"
.flush_by_asid:
        cmp ebx, 16
        jae .nasid
        FAIL "CPUID 8000_000A EBX: fewer than 16 ASIDs"
.nasid:
        PRINTLN "cpuid: FlushByAsid"
%endif

        ; ---- the pages: data with a marker each, code that says which it is ----
        mov edi, PD1
        xor eax, eax
        mov ecx, 0x16000 / 4
        rep stosd
        mov dword [PAGE_A], 0xAAAA0001
        mov dword [PAGE_B], 0xBBBB0002
        mov dword [PAGE_C], 0xCCCC0003
        mov dword [PAGE_D], 0xDDDD0004
        mov esi, code1
        mov edi, CODE1
        mov ecx, code1_end - code1
        rep movsb
        mov esi, code2
        mov edi, CODE2
        mov ecx, code2_end - code2
        rep movsb
        ; both L2s: 0-4 MiB 1:1 (a 4 MiB page), GVA and GVA_CODE their own
        mov dword [PD1], 0x83
        mov dword [PD1 + 4], PT1 | 3
        mov dword [PT1], PAGE_A | 3
        mov dword [PT1 + 4], CODE1 | 3
        mov dword [PD2], 0x83
        mov dword [PD2 + 4], PT2 | 3
        mov dword [PT2], PAGE_B | 3
        mov dword [PT2 + 4], CODE2 | 3
        call vmcb_init

        ; ---- (a) alternating ASIDs, TLB_CONTROL 0 ----
        mov ecx, 3
.alt:   push ecx
        RUN 1, 0, 0xAAAA0001, 1, "(a): ASID 1"
        RUN 2, 0, 0xBBBB0002, 2, "(a): ASID 2"
        pop ecx
        dec ecx
        jnz .alt

        ; ---- (b) a new data page for ASID 1, TLB_CONTROL 3 ----
        mov dword [PT1], PAGE_C | 3
        RUN 1, 3, 0xCCCC0003, 1, "(b): ASID 1 after flush by ASID"
        RUN 2, 0, 0xBBBB0002, 2, "(b): ASID 2"

        ; ---- (c) back to PAGE_A, INVLPGA in ASID 1 ----
        mov dword [PT1], PAGE_A | 3
        mov eax, GVA
        mov ecx, 1
        invlpga
        RUN 1, 0, 0xAAAA0001, 1, "(c): ASID 1 after INVLPGA"

        ; ---- (d) INVLPGA in ASID 2 ----
        mov dword [PT2], PAGE_D | 3
        mov eax, GVA
        mov ecx, 2
        invlpga
        RUN 2, 0, 0xDDDD0004, 2, "(d): ASID 2 after INVLPGA"
        RUN 1, 0, 0xAAAA0001, 1, "(d): ASID 1"

        ; ---- (e) ASID 1 runs the other code, TLB_CONTROL 3 ----
        mov dword [PT1 + 4], CODE2 | 3
        RUN 1, 3, 0xAAAA0001, 2, "(e): ASID 1's new code"
        RUN 2, 0, 0xDDDD0004, 2, "(e): ASID 2"

        ; ---- (f) ASID 2 too, TLB_CONTROL 7 ----
        mov dword [PT2 + 4], CODE1 | 3
        RUN 2, 7, 0xDDDD0004, 1, "(f): ASID 2's new code"
        mov dword [PT1 + 4], CODE1 | 3
        RUN 1, 7, 0xAAAA0001, 1, "(f): ASID 1's first code again"

        ; ---- (g) ASID 1 maps PAGE_B itself, with INVLPG ----
        mov dword [VMCB + V_RIP], l2_invlpg
        mov dword [VMCB + V_TLB_CTL], 0
        mov dword [VMCB + V_ASID], 1
        mov dword [VMCB + V_CR3], PD1
        call run_l2
        call print_run
        EXPECT dword [VMCB + V_RAX], 0xBBBB0002, "(g): ASID 1 after its INVLPG"
        EXPECT dword [PT1], PAGE_B | 0x23, "(g): ASID 1's PTE"
        RUN 2, 0, 0xDDDD0004, 1, "(g): ASID 2"
        RUN 1, 0, 0xBBBB0002, 1, "(g): ASID 1 again"

        PASS

; VMRUN, then STGI (#VMEXIT leaves GIF = 0)
run_l2:
        mov eax, VMCB
        xor ebx, ebx
        vmrun
        stgi
        ret

; "asid N ctl N: exit XXXX data XXXXXXXX code N" (EBX kept)
print_run:
        push ebx
        PRINT "asid "
        mov al, [VMCB + V_ASID]
        add al, '0'
        call p32_putc
        PRINT " ctl "
        mov al, [VMCB + V_TLB_CTL]
        add al, '0'
        call p32_putc
        PRINT ": exit "
        mov eax, [VMCB + V_EXITCODE]
        call p32_hex16
        PRINT " data "
        mov eax, [VMCB + V_RAX]
        call p32_hex32
        PRINT " code "
        mov eax, [esp]
        add al, '0'
        call p32_putc
        call p32_nl
        pop ebx
        ret

; A VMCB for a pm32 L2 with flat segments and 32-bit paging (4 MiB pages on)
vmcb_init:
        mov edi, VMCB
        xor eax, eax
        mov ecx, 1024
        rep stosd
        mov dword [VMCB + V_ICPT_MISC1], 1 << 31        ; SHUTDOWN
        mov dword [VMCB + V_ICPT_MISC2], 3              ; VMRUN, VMMCALL
        vmcb_flat_segments
        mov dword [VMCB + V_EFER], 1 << 12
        mov dword [VMCB + V_CR0], 0x80000011            ; PG, PE, ET
        mov dword [VMCB + V_CR4], 0x10                  ; PSE
        mov dword [VMCB + V_DR7], 0x400
        mov dword [VMCB + V_DR6], 0xFFFF0FF0
        mov dword [VMCB + V_RFLAGS], 2
        mov dword [VMCB + V_RSP], L2_STACK
        ret

; EAX = VMCB segment, BX = selector, DX = attributes: base 0, limit 4 GiB
set_vseg:
        mov [eax], bx
        mov [eax + 2], dx
        mov dword [eax + 4], 0xFFFFFFFF
        mov dword [eax + 8], 0
        mov dword [eax + 12], 0
        ret

        IO_ROUTINES p32

; ---------------------------------------------------------------------------
; L2, in the 4 MiB both map 1:1: read GVA, run the code at GVA_CODE.
l2_entry:
        mov eax, [GVA]
        jmp GVA_CODE
; ASID 1's own PTE to PAGE_B, then INVLPG (PT1 lies in the 1:1 4 MiB)
l2_invlpg:
        mov dword [PT1], PAGE_B | 3
        invlpg [GVA]
        mov eax, [GVA]
        jmp GVA_CODE

; the two code pages' contents (copied to CODE1 and CODE2)
code1:  mov ebx, 1
        vmmcall
code1_end:
code2:  mov ebx, 2
        vmmcall
code2_end:

        GDT_TABLE
