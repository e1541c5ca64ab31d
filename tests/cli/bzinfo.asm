; bzinfo.asm - a minimal bzImage (boot protocol 2.15) for the Linux loader
; tests: both entry points report on COM1 what the boot protocol gave them,
; then leave through isa-debug-exit. The report code is assembled once per
; entry with `bits 32`: it avoids every encoding that differs in 64-bit mode
; (no inc/dec reg, no absolute memory operands), so it runs in both modes.
;
; Report: "<entry> " then C (CS = 0x10), D (DS = SS = ES = 0x18), S (RSI =
; 0x7000), I (IF = 0), L (type_of_loader 0xFF), P (CR0.PG as the entry wants),
; each in lower case when wrong; the e820 entry count as a digit; for the
; 64-bit entry N after reading boot_params with a null DS, as startup_64
; does (64-bit mode ignores DS); a space and the command line; a newline; up
; to 16 bytes of the initrd; a newline.
bits 16
org 0
SETUP_SECTS equ 4

	times 0x1f1 db 0
	db SETUP_SECTS		; 0x1f1 setup_sects
	dw 0			; 0x1f2 root_flags
	dd PM_SIZE / 16		; 0x1f4 syssize
	dw 0			; 0x1f8 ram_size
	dw 0xffff		; 0x1fa vid_mode
	dw 0			; 0x1fc root_dev
	dw 0xaa55		; 0x1fe boot_flag
	db 0xeb, hdr_end - 0x202 ; 0x200 jump
	db "HdrS"		; 0x202 header
	dw 0x020f		; 0x206 version 2.15
	dd 0			; 0x208 realmode_swtch
	dw 0			; 0x20c start_sys_seg
	dw 0			; 0x20e kernel_version
	db 0			; 0x210 type_of_loader
	db 1			; 0x211 loadflags: LOADED_HIGH
	dw 0			; 0x212 setup_move_size
	dd 0x100000		; 0x214 code32_start
	dd 0			; 0x218 ramdisk_image
	dd 0			; 0x21c ramdisk_size
	dd 0			; 0x220 bootsect_kludge
	dw 0			; 0x224 heap_end_ptr
	db 0, 0			; 0x226 ext_loader_ver, ext_loader_type
	dd 0			; 0x228 cmd_line_ptr
	dd 0x7fffffff		; 0x22c initrd_addr_max
	dd 0x200000		; 0x230 kernel_alignment
	db 1, 21		; 0x234 relocatable_kernel, min_alignment
	dw 3			; 0x236 xloadflags: KERNEL_64, CAN_BE_LOADED_ABOVE_4G
	dd 255			; 0x238 cmdline_size
	dd 0			; 0x23c hardware_subarch
	dq 0			; 0x240 hardware_subarch_data
	dd 0, 0			; 0x248 payload_offset, payload_length
	dq 0			; 0x250 setup_data
	dq 0x100000		; 0x258 pref_address
	dd 0x100000		; 0x260 init_size
	dd 0			; 0x264 handover_offset
	dd 0			; 0x268 kernel_info_offset
hdr_end:
	times (SETUP_SECTS + 1) * 512 - ($ - $$) db 0

%macro putc 1
	mov al, %1
	out dx, al
%endmacro

%macro flag 3			; condition-true jump, upper letter
	j%1 %%yes
	putc %3 | 0x20
	jmp %%next
%%yes:	putc %3
%%next:
%endmacro

%macro report 4			; tag chars, expected CR0.PG (0 or 1), null-DS check (0 or 1)
	mov esp, 0x80000
	mov edx, 0x3f8
	putc %1
	putc %2
	putc ' '
	mov eax, cs
	cmp ax, 0x10
	flag e, 0, 'C'
	mov eax, ds
	mov ebx, ss
	mov ecx, es
	cmp ax, 0x18
	jne %%d_bad
	cmp bx, 0x18
	jne %%d_bad
	cmp cx, 0x18
%%d_bad:
	flag e, 0, 'D'
	cmp esi, 0x7000
	flag e, 0, 'S'
	pushf
	pop eax
	test eax, 0x200
	flag z, 0, 'I'
	cmp byte [esi + 0x210], 0xff
	flag e, 0, 'L'
	mov eax, cr0
	shr eax, 31
	cmp eax, %3
	flag e, 0, 'P'
	movzx eax, byte [esi + 0x1e8]
	add eax, '0'
	out dx, al
%if %4
	xor eax, eax
	mov ds, eax
	mov eax, [esi + 0x230]	; kernel_alignment, through the null DS
	putc 'N'
%endif
	putc ' '
	mov ebx, [esi + 0x228]
%%cmd:	mov al, [ebx]
	test al, al
	jz %%cmd_end
	out dx, al
	add ebx, 1
	jmp %%cmd
%%cmd_end:
	putc 10
	mov ebx, [esi + 0x218]
	mov ecx, [esi + 0x21c]
	cmp ecx, 16
	jbe %%rd
	mov ecx, 16
%%rd:	test ecx, ecx
	jz %%rd_end
	mov al, [ebx]
	out dx, al
	add ebx, 1
	sub ecx, 1
	jmp %%rd
%%rd_end:
	putc 10
	mov edx, 0xf4
	mov eax, 0x10
	out dx, eax		; status (0x10 << 1) | 1 = 33
	hlt
%endmacro

bits 32
pm_start:
	report '3', '2', 0, 0	; code32_start: protected mode, paging off
	times 0x200 - ($ - pm_start) db 0
	report '6', '4', 1, 1	; startup_64: long mode (the same bytes decode alike)
	times 0x400 - ($ - pm_start) db 0
PM_SIZE equ $ - pm_start
