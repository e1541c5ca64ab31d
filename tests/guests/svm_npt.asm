; svm_npt.asm - nested paging (AMD APM vol. 2, 15.25) under a 64-bit L1
; hypervisor, run with --cpu svm=on (svm_npt.args; QEMU: -cpu max,+svm).
; L1 goes to long mode (the nested tables then have the 4-level long-mode
; format, 15.25.3), builds nested tables that map guest-physical memory
; 1:1 with 2 MiB pages except the 2 MiB at 0x600000, which a 4 KiB table
; maps elsewhere, and runs a pm32 L2 with NP_ENABLE:
;   - CPUID 8000_000A EDX.NP
;   (a) L2 paging off: a store and a load at GPA 0x600010 land in L1's page
;       0x710000; nested A/D bits (A on every level, D on the written leaf)
;   (b) a load from a not-present nested page: #NPF (0x400), EXITINFO1 =
;       bit 32 (final address) | U, EXITINFO2 = the GPA, RIP at the load;
;       L1 maps the page and resumes, the load completes
;   (c) a store to a read-only nested page: #NPF with P, RW, U; the load
;       before it completed; nested A without D on that page
;   (d) L2 with 32-bit paging whose page directory lies in a not-present
;       nested page: #NPF with bit 33 (guest page-table walk) | RW | U (the
;       walk may set A/D bits, so it is a write), EXITINFO2 the PDE's GPA;
;       after L1 maps it, L2 runs; the guest PDEs get their A bits, the
;       nested leaf of the page directory's page A and D
;   (e) #UD in L2 whose IDT lies in a not-present nested page: #NPF on the
;       gate's read, with the #UD being delivered in EXITINTINFO
; WITH_APM (QEMU 7.2 does not check these): VMRUN with a reserved memory
; type in G_PAT, or with nCR3 beyond the physical address width, is
; VMEXIT_INVALID (15.5.1, 15.25.8).
%include "common.inc"
%include "svm.inc"

VMCB            equ 0x200000
HSAVE           equ 0x201000
L2_STACK        equ 0x280000
L1_PML4         equ 0x300000            ; L1's own tables: 1 GiB identity, 2 MiB pages
L1_PDPT         equ 0x301000
L1_PD           equ 0x302000
NPML4           equ 0x400000            ; the nested tables
NPDPT           equ 0x401000
NPD             equ 0x402000
NPT             equ 0x403000            ; maps GPA 0x600000-0x7FFFFF in 4 KiB pages
GPA_WIN         equ 0x600000
HPA_A           equ 0x710000            ; GPA 0x600000 -> here
HPA_B           equ 0x711000            ; GPA 0x601000 -> here, once L1 maps it
HPA_C           equ 0x712000            ; GPA 0x602000 -> here, read-only
HPA_PD          equ 0x713000            ; GPA 0x603000 -> here: (d)'s page directory
STACK64         equ 0x90000


NP_USER_RW      equ 7                   ; P | RW | U: nested accesses are user accesses

_start:
        SETUP32 STACK64
        PRINTLN "svm_npt: L1 hypervisor, nested paging"

        ; ---- L1 into long mode: 1 GiB identity map with 2 MiB pages ----
        mov edi, L1_PML4
        xor eax, eax
        mov ecx, 3 * 4096 / 4
        rep stosd
        mov dword [L1_PML4], L1_PDPT | 3
        mov dword [L1_PDPT], L1_PD | 3
        mov eax, 0x83
        mov edi, L1_PD
        mov ecx, 512
.pd:    mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .pd
        mov eax, cr4
        or eax, 1 << 5                  ; PAE
        mov cr4, eax
        mov eax, L1_PML4
        mov cr3, eax
        mov ecx, MSR_EFER
        rdmsr
        or eax, (1 << 8) | (1 << 12)    ; LME, SVME
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp SEL_CODE64:l1_64

        IO_ROUTINES p32

; ---------------------------------------------------------------------------
        bits 64
%define IOP p64
l1_64:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, STACK64

        mov eax, 0x8000000A
        cpuid
        test edx, 1
        jnz .has_np
        FAIL "CPUID 8000_000A EDX.NP clear"
.has_np:
        PRINTLN "cpuid: np"
        mov ecx, MSR_HSAVE
        mov eax, HSAVE
        xor edx, edx
        wrmsr

        ; ---- nested tables: 1 GiB 1:1 in 2 MiB pages, 0x600000 in 4 KiB ones ----
        mov edi, NPML4
        xor eax, eax
        mov ecx, 4 * 4096 / 4
        rep stosd
        mov dword [NPML4], NPDPT | NP_USER_RW
        mov dword [NPDPT], NPD | NP_USER_RW
        mov eax, 0x80 | NP_USER_RW
        mov edi, NPD
        mov ecx, 512
.npd:   mov [edi], eax
        add eax, 0x200000
        add edi, 8
        loop .npd
        mov dword [NPD + 3 * 8], NPT | NP_USER_RW
        mov dword [NPT + 0 * 8], HPA_A | NP_USER_RW
        mov dword [NPT + 2 * 8], HPA_C | 5      ; read-only
        ; the host pages: A zero, B and C with a marker, PD page zero
        mov edi, HPA_A
        xor eax, eax
        mov ecx, 4 * 4096 / 4
        rep stosd
        mov dword [HPA_B + 8], 0xCAFEF00D
        mov dword [HPA_C + 4], 0x5555AAAA

%ifdef WITH_APM
        ; VMRUN's checks of the nested-paging controls (15.5.1, 15.25.8):
        ; QEMU 7.2 checks neither G_PAT nor nCR3
        call vmcb_init
        mov byte [VMCB + V_GPAT + 3], 2         ; PA3 = 2: a reserved memory type
        call run_l2
        PRINT "invalid G_PAT: exit="
        mov eax, [VMCB + V_EXITCODE]
        call p64_hex32
        call p64_nl
        EXPECT qword [VMCB + V_EXITCODE], -1, "G_PAT with a reserved type"
        call vmcb_init
        mov byte [VMCB + V_NCR3 + 7], 0x10      ; nCR3 bit 60
        call run_l2
        PRINT "invalid nCR3: exit="
        mov eax, [VMCB + V_EXITCODE]
        call p64_hex32
        call p64_nl
        EXPECT qword [VMCB + V_EXITCODE], -1, "nCR3 beyond MAXPHYADDR"
%endif

        ; ---- (a) L2 paging off: GPA 0x600010 is L1's 0x710010 ----
        call vmcb_init
        mov dword [VMCB + V_RIP], s_a
        call run_l2
        call print_exit
        EXPECT dword [VMCB + V_EXITCODE], 0x81, "(a): VMMCALL exit"
        EXPECT dword [VMCB + V_RAX], 0x12345678, "(a): L2's load"
        EXPECT dword [HPA_A + 0x10], 0x12345678, "(a): L2's store in L1's page"
        PRINT "(a) L1 sees "
        mov eax, [HPA_A + 0x10]
        call p64_hex32
        call p64_nl
        ; nested A/D: A on the PML4E, PDPTE, PDE, PTE; D on the written PTE
        PRINT "(a) nested pml4e "
        mov eax, [NPML4]
        call print_flags
        PRINT " pdpte "
        mov eax, [NPDPT]
        call print_flags
        PRINT " pde "
        mov eax, [NPD + 3 * 8]
        call print_flags
        PRINT " pte "
        mov eax, [NPT]
        call print_flags
        PRINT " code pde "
        mov eax, [NPD]
        call print_flags
        call p64_nl
        EXPECT dword [NPT], HPA_A | 0x60 | NP_USER_RW, "(a): nested PTE A and D"
        EXPECT dword [NPD + 3 * 8], NPT | 0x20 | NP_USER_RW, "(a): nested PDE A"

        ; ---- (b) a not-present nested page: #NPF, L1 maps it, L2 goes on ----
        mov dword [VMCB + V_RIP], s_b
        call run_l2
        call print_exit
        EXPECT dword [VMCB + V_EXITCODE], 0x400, "(b): #NPF exit code"
        EXPECT dword [VMCB + V_EXITINFO1], 4, "(b): EXITINFO1 U"
        EXPECT dword [VMCB + V_EXITINFO1 + 4], 1, "(b): EXITINFO1 final address"
        EXPECT qword [VMCB + V_EXITINFO2], GPA_WIN + 0x1008, "(b): EXITINFO2"
        EXPECT dword [VMCB + V_RIP], s_b, "(b): RIP at the faulting load"
        EXPECT dword [VMCB + V_EXITINTINFO], 0, "(b): EXITINTINFO"
        mov dword [NPT + 1 * 8], HPA_B | NP_USER_RW
        mov byte [VMCB + V_TLB_CTL], 1          ; a hypervisor flushes after changing the nested tables
        call run_l2
        call print_exit
        EXPECT dword [VMCB + V_EXITCODE], 0x81, "(b): VMMCALL after the fix"
        EXPECT dword [VMCB + V_RAX], 0xCAFEF00D, "(b): the load after the fix"

        ; ---- (c) a store to a read-only nested page ----
        mov dword [VMCB + V_RIP], s_c
        call run_l2
        call print_exit
        EXPECT dword [VMCB + V_EXITCODE], 0x400, "(c): #NPF exit code"
        EXPECT dword [VMCB + V_EXITINFO1], 7, "(c): EXITINFO1 P, RW, U"
        EXPECT dword [VMCB + V_EXITINFO1 + 4], 1, "(c): EXITINFO1 final address"
        EXPECT qword [VMCB + V_EXITINFO2], GPA_WIN + 0x2000, "(c): EXITINFO2"
        EXPECT dword [VMCB + V_RIP], s_c2, "(c): RIP at the faulting store"
        EXPECT dword [VMCB + V_RAX], 0x5555AAAA, "(c): the load before it"
        EXPECT dword [HPA_C], 0, "(c): the store did not happen"
        PRINT "(c) nested pte "
        mov eax, [NPT + 2 * 8]
        call print_flags
        call p64_nl
        EXPECT dword [NPT + 2 * 8], HPA_C | 0x20 | 5, "(c): nested PTE A, no D"

        ; ---- (d) L2 with 32-bit paging: its page directory is in a not-present nested page ----
        mov dword [VMCB + V_RIP], s_d
        mov dword [VMCB + V_CR0], 0x80000011    ; PG, PE, ET
        mov dword [VMCB + V_CR3], GPA_WIN + 0x3000
        mov dword [VMCB + V_CR4], 0x10          ; PSE: 4 MiB pages
        call run_l2
        call print_exit
        EXPECT dword [VMCB + V_EXITCODE], 0x400, "(d): #NPF exit code"
        EXPECT dword [VMCB + V_EXITINFO1], 6, "(d): EXITINFO1 RW, U"
        EXPECT dword [VMCB + V_EXITINFO1 + 4], 2, "(d): EXITINFO1 guest page-table walk"
        EXPECT qword [VMCB + V_EXITINFO2], GPA_WIN + 0x3000, "(d): EXITINFO2 (the PDE)"
        EXPECT dword [VMCB + V_RIP], s_d, "(d): RIP"
        mov dword [HPA_PD + 0], 0x87            ; 0-4 MiB: P, RW, U, PS
        mov dword [HPA_PD + 4], 0x400087        ; 4-8 MiB
        mov dword [NPT + 3 * 8], HPA_PD | NP_USER_RW
        call run_l2
        call print_exit
        EXPECT dword [VMCB + V_EXITCODE], 0x81, "(d): VMMCALL"
        EXPECT dword [VMCB + V_RAX], 0x12345678, "(d): the load through both dimensions"
        PRINT "(d) guest pde0 "
        mov eax, [HPA_PD]
        call print_flags
        PRINT " pde1 "
        mov eax, [HPA_PD + 4]
        call print_flags
        PRINT " nested pte "
        mov eax, [NPT + 3 * 8]
        call print_flags
        call p64_nl
        EXPECT dword [HPA_PD], 0xA7, "(d): guest PDE 0 A"
        EXPECT dword [HPA_PD + 4], 0x4000A7, "(d): guest PDE 1 A"
        EXPECT dword [NPT + 3 * 8], HPA_PD | 0x60 | NP_USER_RW, "(d): nested PTE of the PD A and D"

        ; ---- (e) a #NPF while L2 delivers #UD through an IDT in a not-present nested page ----
        call vmcb_init
        mov dword [VMCB + V_RIP], s_e
        mov dword [VMCB + V_IDTR + 4], 0xFF
        mov dword [VMCB + V_IDTR + 8], GPA_WIN + 0x4000
        call run_l2
        call print_exit
        PRINT "(e) exitintinfo "
        mov rax, [VMCB + V_EXITINTINFO]
        call p64_hex64
        call p64_nl
        EXPECT dword [VMCB + V_EXITCODE], 0x400, "(e): #NPF exit code"
        EXPECT dword [VMCB + V_EXITINFO1], 4, "(e): EXITINFO1 U"
        EXPECT dword [VMCB + V_EXITINFO1 + 4], 1, "(e): EXITINFO1 final address"
        EXPECT qword [VMCB + V_EXITINFO2], GPA_WIN + 0x4000 + 6 * 8, "(e): EXITINFO2 (the gate)"
        EXPECT dword [VMCB + V_RIP], s_e, "(e): RIP at UD2"
        EXPECT dword [VMCB + V_EXITINTINFO], 0x80000306, "(e): EXITINTINFO: #UD, an exception"
        EXPECT dword [VMCB + V_EXITINTINFO + 4], 0, "(e): EXITINTINFO error code"

        PASS

; VMRUN, then STGI (#VMEXIT leaves GIF = 0)
run_l2:
        mov eax, VMCB
        vmrun
        stgi
        ret

; A VMCB for a pm32 L2 with flat segments, paging off, NP on, nCR3 = NPML4
vmcb_init:
        mov edi, VMCB
        xor eax, eax
        mov ecx, 1024
        rep stosd
        mov dword [VMCB + V_ICPT_MISC1], 1 << 31        ; SHUTDOWN
        mov dword [VMCB + V_ICPT_MISC2], 3              ; VMRUN, VMMCALL
        mov dword [VMCB + V_ASID], 1
        mov byte [VMCB + V_TLB_CTL], 1
        mov dword [VMCB + V_NP], 1
        mov dword [VMCB + V_NCR3], NPML4
        mov rax, 0x0007040600070406                     ; the reset PAT
        mov [VMCB + V_GPAT], rax
        vmcb_flat_segments
        mov dword [VMCB + V_EFER], 1 << 12
        mov dword [VMCB + V_CR0], 0x11
        mov dword [VMCB + V_DR7], 0x400
        mov dword [VMCB + V_DR6], 0xFFFF0FF0
        mov dword [VMCB + V_RFLAGS], 2
        mov dword [VMCB + V_RSP], L2_STACK
        ret

; RAX = VMCB segment, BX = selector, DX = attributes: base 0, limit 4 GiB
set_vseg:
        mov [rax], bx
        mov [rax + 2], dx
        mov dword [rax + 4], 0xFFFFFFFF
        mov qword [rax + 8], 0
        ret

; EAX = a page-table entry: its low 12 bits (the flags)
print_flags:
        and eax, 0xFFF
        jmp p64_hex16

; "exit XXX i1 XXXXXXXXXXXXXXXX i2 XXXXXXXXXXXXXXXX rip +XXXX"
print_exit:
        PRINT "exit "
        mov eax, [VMCB + V_EXITCODE]
        call p64_hex16
        PRINT " i1 "
        mov rax, [VMCB + V_EXITINFO1]
        call p64_hex64
        PRINT " i2 "
        mov rax, [VMCB + V_EXITINFO2]
        call p64_hex64
        PRINT " rip +"
        mov eax, [VMCB + V_RIP]
        sub eax, l2_code
        call p64_hex16
        jmp p64_nl

        IO_ROUTINES p64

; ---------------------------------------------------------------------------
; L2: 32-bit code on guest-physical memory that the nested tables map.
        bits 32
l2_code:
s_a:    mov dword [GPA_WIN + 0x10], 0x12345678
        mov eax, [GPA_WIN + 0x10]
        vmmcall
s_b:    mov eax, [GPA_WIN + 0x1008]
        vmmcall
s_c:    mov eax, [GPA_WIN + 0x2004]
s_c2:   mov dword [GPA_WIN + 0x2000], 1
        vmmcall
s_d:    mov eax, [GPA_WIN + 0x10]
        vmmcall
s_e:    ud2

        GDT_TABLE
