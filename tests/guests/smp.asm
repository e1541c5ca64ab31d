; smp.asm - the local APIC, the IOAPIC and SMP start-up, as a guest sees them:
; the BSP software-enables its LAPIC (SVR), checks ID and max-LVT, runs the
; LAPIC timer in periodic mode taking 5 interrupts in HLT, uses it one-shot
; (current count runs down to 0) as a delay, sends INIT-SIPI-SIPI to all
; other processors (shorthand), and each AP goes from real mode at the
; SIPI vector to 32-bit protected mode, adds 1 to a shared counter 10000
; times with LOCK XADD and checks in. The BSP prints the number of APs and
; the total (deterministic), then routes the PIT (ISA IRQ 0 = GSI 2) through
; the IOAPIC to a vector of its own and takes 3 interrupts in HLT.
; Run with 4 vCPUs (smp.args: ringvm --cpus 4, QEMU -smp 4).
%include "common.inc"

IDT32     equ 0x50000
TRAMP     equ 0x8000               ; SIPI vector 0x08: the APs start at 0800:0000
LAPIC     equ 0xFEE00000
IOAPIC    equ 0xFEC00000
VEC_TIMER equ 0x40
VEC_PIT   equ 0x41
VEC_SPUR  equ 0xFF
AP_LOOPS  equ 10000
NR_APS    equ 3

_start:
        SETUP32 0x90000

        ; ---- IDT: every vector FAILs, except the ones installed below ----
        xor ecx, ecx
.idt:   mov eax, unexpected
        call set_gate
        inc ecx
        cmp ecx, 256
        jb .idt
        mov ecx, VEC_TIMER
        mov eax, timer_isr
        call set_gate
        mov ecx, VEC_PIT
        mov eax, pit_isr
        call set_gate
        mov ecx, VEC_SPUR
        mov eax, spurious_isr
        call set_gate
        lidt [idtr]

        ; the 8259s stay out of the way: everything masked
        mov al, 0xFF
        out 0x21, al
        out 0xA1, al

        ; ---- the BSP's local APIC ----
        mov ecx, 0x1B                   ; IA32_APIC_BASE
        rdmsr
        mov ebx, eax
        and ebx, 0xFFFFF900
        EXPECT ebx, 0xFEE00900, "APIC base not FEE00000 + enabled + BSP"
        mov eax, [LAPIC + 0x20]
        shr eax, 24
        EXPECT eax, 0, "BSP APIC ID not 0"
        mov eax, [LAPIC + 0x30]
        shr eax, 16
        and eax, 0xFF
        cmp eax, 5
        jae .lvt_ok
        FAIL "max LVT below 5"
.lvt_ok:
        mov dword [LAPIC + 0xF0], 0x100 | VEC_SPUR   ; SVR: software enable
        mov dword [LAPIC + 0x80], 0                  ; TPR 0
        mov eax, [LAPIC + 0xF0]
        and eax, 0x1FF
        EXPECT eax, 0x1FF, "SVR read-back"
        PRINTLN "lapic: enabled, id 0"

        ; ---- periodic timer: 5 interrupts taken in HLT ----
        mov dword [LAPIC + 0x3E0], 0xB               ; divide by 1
        mov dword [LAPIC + 0x320], (1 << 17) | VEC_TIMER  ; periodic
        mov dword [LAPIC + 0x380], 2000000           ; 2 ms at 1 GHz
.tick:  sti
        hlt
        cli
        cmp dword [ticks], 5
        jb .tick
        mov dword [LAPIC + 0x320], 0x10000 | VEC_TIMER  ; mask
        mov dword [LAPIC + 0x380], 0                 ; stop
        mov eax, [LAPIC + 0x100 + 0x40 / 32 * 16]    ; ISR word of vector 0x40
        EXPECT eax, 0, "ISR still set after EOI"
        PRINTLN "lapic timer: periodic interrupts in hlt ok"

        ; ---- one-shot timer as a delay: the current count runs down to 0 ----
        call delay_10ms
        PRINTLN "lapic timer: one-shot count reached 0"

        ; ---- start the APs: INIT, SIPI, SIPI to all but self ----
        mov esi, tramp_start
        mov edi, TRAMP
        mov ecx, tramp_end - tramp_start
        rep movsb
        mov dword [LAPIC + 0x310], 0
        mov dword [LAPIC + 0x300], 0x000C4500        ; INIT, assert, all excluding self
        call delay_10ms
        mov dword [LAPIC + 0x300], 0x000C4600 | (TRAMP >> 12)   ; SIPI
        call delay_10ms
        mov dword [LAPIC + 0x300], 0x000C4600 | (TRAMP >> 12)   ; SIPI again (ignored by started APs)
        ; wait for the APs: bounded by a number of 10 ms delays
        mov ebp, 500
.wait_aps:
        cmp dword [checkin], NR_APS
        jae .aps_in
        call delay_10ms
        dec ebp
        jnz .wait_aps
.aps_in:
        PRINT "aps checked in: "
        mov eax, [checkin]
        call p32_hex32
        call p32_nl
        PRINT "shared counter: "
        mov eax, [counter]
        call p32_hex32
        call p32_nl
        EXPECT dword [checkin], NR_APS, "not every AP checked in"
        EXPECT dword [counter], NR_APS * AP_LOOPS, "LOCK XADD lost updates"
        EXPECT dword [ap_bad_id], 0, "an AP saw APIC ID 0 or a BSP flag"

        ; ---- the IOAPIC: PIT (GSI 2) -> vector 0x41 on the BSP, edge, high ----
        mov dword [IOAPIC], 1
        mov eax, [IOAPIC + 0x10]
        shr eax, 16
        and eax, 0xFF
        EXPECT eax, 23, "IOAPIC max redirection entry"
        mov dword [IOAPIC], 0x10 + 2 * 2 + 1         ; pin 2 high: destination APIC ID 0
        mov dword [IOAPIC + 0x10], 0
        mov dword [IOAPIC], 0x10 + 2 * 2             ; pin 2 low: vector, fixed, physical, edge, unmasked
        mov dword [IOAPIC + 0x10], VEC_PIT
        mov al, 0x34                                 ; PIT channel 0, lobyte/hibyte, mode 2
        out 0x43, al
        mov al, 11932 & 0xFF                         ; 100 Hz
        out 0x40, al
        mov al, 11932 >> 8
        out 0x40, al
.pit:   sti
        hlt
        cli
        cmp dword [pit_ticks], 3
        jb .pit
        mov dword [IOAPIC], 0x10 + 2 * 2
        mov dword [IOAPIC + 0x10], 0x10000 | VEC_PIT ; mask again
        PRINTLN "ioapic: pit interrupts through gsi 2 ok"
        PASS

; ECX = vector, EAX = handler
set_gate:
        mov [IDT32 + ecx * 8], ax
        mov word [IDT32 + ecx * 8 + 2], SEL_CODE32
        mov word [IDT32 + ecx * 8 + 4], 0x8E00
        push eax
        shr eax, 16
        mov [IDT32 + ecx * 8 + 6], ax
        pop eax
        ret

; one-shot LAPIC timer, masked, polled until the current count is 0
delay_10ms:
        push eax
        mov dword [LAPIC + 0x3E0], 0xB
        mov dword [LAPIC + 0x320], 0x10000 | VEC_TIMER
        mov dword [LAPIC + 0x380], 10000000
.spin:  pause
        mov eax, [LAPIC + 0x390]
        test eax, eax
        jnz .spin
        pop eax
        ret

timer_isr:
        inc dword [ticks]
        mov dword [LAPIC + 0xB0], 0                  ; EOI
        iret

pit_isr:
        inc dword [pit_ticks]
        mov dword [LAPIC + 0xB0], 0
        iret

spurious_isr:
        iret                                         ; no EOI for the spurious vector

unexpected:
        FAIL "unexpected interrupt or exception"

; ---- what every AP runs: real mode at TRAMP, then 32-bit protected mode ----
        bits 16
tramp_start:
        cli
        mov ax, cs
        mov ds, ax
        o32 lgdt [tramp_gdtr - tramp_start]
        mov eax, cr0
        or eax, 1
        mov cr0, eax
        jmp dword SEL_CODE32:ap_main
        align 8
tramp_gdtr:
        dw gdt_end - gdt_table - 1
        dd gdt_table
tramp_end:
        bits 32

ap_main:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        ; an AP has its own APIC ID (not 0) and no BSP flag
        mov eax, [LAPIC + 0x20]
        shr eax, 24
        jnz .id_ok
        lock inc dword [ap_bad_id]
.id_ok: mov ecx, 0x1B
        rdmsr
        test eax, 0x100
        jz .bsp_ok
        lock inc dword [ap_bad_id]
.bsp_ok:
        mov ecx, AP_LOOPS
.add:   mov eax, 1
        lock xadd [counter], eax
        dec ecx
        jnz .add
        lock inc dword [checkin]
.park:  cli
        hlt
        jmp .park

        IO_ROUTINES p32

        align 8
idtr:   dw 256 * 8 - 1
        dd IDT32
        align 4
ticks:     dd 0
pit_ticks: dd 0
counter:   dd 0
checkin:   dd 0
ap_bad_id: dd 0
        GDT_TABLE
