; The L2 guests of kvm_api.c: code that kvm_api copies into its VM's memory
; and runs through /dev/kvm, inside a ringvm guest that offers SVM. Only
; relative branches and absolute data addresses, so each piece runs wherever
; kvm_api puts it. Assembled as an ELF object and linked into kvm_api.
;
; What each piece does is checked by kvm_api.c, exit by exit: keep the two
; in step.

KVM_API_MMIO16	equ 0xa000		; real mode: segment of the MMIO hole at 0xA0000
KVM_API_MMIO64	equ 0x40000000		; long mode: the MMIO hole, outside the memory slot
KVM_API_LOOPS	equ 1000		; port writes in the real-mode loop
KVM_API_ROUNDS	equ 3000		; rounds of three exits in the long-mode loop

section .rodata

global l2_real_start, l2_real_end, l2_long_start, l2_long_end

; Real mode (CS = 0, IP at the copy): a port read and write, MMIO writes and
; a read through DS, KVM_API_LOOPS port writes, then HLT with AX = 0x600D.
bits 16
l2_real_start:
	mov dx, 0x10
	in al, dx			; kvm_api answers 0x5A
	inc al
	out dx, al			; 0x5B
	mov ax, KVM_API_MMIO16
	mov ds, ax
	mov byte [0], 0x42		; MMIO write at 0xA0000, 1 byte
	mov bx, [2]			; MMIO read at 0xA0002, 2 bytes: kvm_api answers 0x1234
	mov [4], bx			; MMIO write at 0xA0004: 0x1234 back
	mov cx, KVM_API_LOOPS
.loop:	mov al, cl
	out 0x11, al			; the low byte of the count, down to 1
	loop .loop
	mov ax, 0x600d
	hlt
l2_real_end:

; Long mode (set up by KVM_SET_SREGS, identity-mapped by 2 MiB pages):
; KVM_API_ROUNDS rounds of an MMIO write of the round number, an MMIO read
; (kvm_api answers the round number times 3) summed in RBX, and a 32-bit
; port write of the sum; then a store to RAM at 0x3000 and HLT with
; RAX = 0x1122334455667788.
bits 64
l2_long_start:
	mov ecx, KVM_API_ROUNDS
	mov edi, KVM_API_MMIO64
	xor ebx, ebx
.loop:	mov [rdi], ecx
	mov eax, [rdi + 8]
	add rbx, rax
	mov eax, ebx
	out 0x12, eax
	dec ecx
	jnz .loop
	mov rax, 0x1122334455667788
	mov [0x3000], rax
	hlt
l2_long_end:

section .note.GNU-stack noalloc noexec nowrite progbits
