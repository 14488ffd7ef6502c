@ hexsmith's on-target checksum routines (src/flash/checksum.rs), ARMv7-M Thumb-2.
@ Assembled with: llvm-mc -triple thumbv7m-none-eabi -filetype=obj checksum.s
@ Three entry points share one layout, found PC-relative: the header (a call's count
@ of ranges and its marker, then (address, length) pairs), and the results (one word
@ per range, then the marker, stored last so the host knows the run finished).
@ r0 address, r1 bytes (words in the unit's loop) left, r2 CRC table (CRC_DR for the
@ unit's entry), r3 CRC register / result, r4 scratch, r5 next pair, r6 ranges left,
@ r7 next result, r8 the marker.
    .syntax unified
    .thumb
    .text
crc:                            @ entry: CRC-32 (ISO-HDLC register) of each range
    adr.w r5, header
    ldmia r5!, {r6, r8}
    adr.w r7, results
    adr.w r2, table
crc_range:
    ldmia r5!, {r0, r1}
    mov.w r3, #-1
crc_head:                       @ a byte at a time while unaligned or under a word
    cbz r1, crc_store
    tst r0, #3
    bne crc_byte
    cmp r1, #4
    bhs crc_words
crc_byte:
    ldrb r4, [r0], #1
    eors r4, r3
    uxtb r4, r4
    ldr.w r4, [r2, r4, lsl #2]
    eor.w r3, r4, r3, lsr #8
    subs r1, #1
    b crc_head
crc_words:                      @ a word at a time: four table lookups
    subs r1, #4
crc_word:
    ldr r4, [r0], #4
    eors r3, r4
    uxtb r4, r3
    ldr.w r4, [r2, r4, lsl #2]
    eor.w r3, r4, r3, lsr #8
    uxtb r4, r3
    ldr.w r4, [r2, r4, lsl #2]
    eor.w r3, r4, r3, lsr #8
    uxtb r4, r3
    ldr.w r4, [r2, r4, lsl #2]
    eor.w r3, r4, r3, lsr #8
    uxtb r4, r3
    ldr.w r4, [r2, r4, lsl #2]
    eor.w r3, r4, r3, lsr #8
    subs r1, #4
    bhs crc_word
    adds r1, #4
    b crc_head
crc_store:
    str r3, [r7], #4
    subs r6, #1
    bne crc_range
    b done
blank:                          @ entry: 1 where a range is all 0xFF, else 0
    adr.w r5, header
    ldmia r5!, {r6, r8}
    adr.w r7, results
blank_range:
    ldmia r5!, {r0, r1}
blank_head:                     @ a byte at a time while unaligned or under a word
    cbz r1, blank_yes
    tst r0, #3
    bne blank_byte
    cmp r1, #32
    bhs blank_blocks
    cmp r1, #4
    bhs blank_words
blank_byte:
    ldrb r4, [r0], #1
    cmp r4, #0xFF
    bne blank_no
    subs r1, #1
    b blank_head
blank_blocks:                   @ eight words per load, ANDed, out at the first 0 bit
    subs r1, #32
blank_block:
    ldmia r0!, {r2, r3, r4, r9, r10, r11, r12, lr}
    ands r2, r3
    ands r2, r4
    and.w r2, r2, r9
    and.w r2, r2, r10
    and.w r2, r2, r11
    and.w r2, r2, r12
    and.w r2, r2, lr
    cmn.w r2, #1
    bne blank_no
    subs r1, #32
    bhs blank_block
    adds r1, #32
    b blank_head
blank_words:
    subs r1, #4
blank_word:
    ldr r2, [r0], #4
    cmn.w r2, #1
    bne blank_no
    subs r1, #4
    bhs blank_word
    adds r1, #4
    b blank_head
blank_yes:
    movs r3, #1
    b blank_store
blank_no:
    movs r3, #0
blank_store:
    str r3, [r7], #4
    subs r6, #1
    bne blank_range
done:
    str r8, [r7]
    bkpt #0
unit:                           @ entry: the STM32F2 CRC unit's result for each range
    adr.w r5, header            @ (RM0033 section 4; whole words, word-aligned)
    ldmia r5!, {r6, r8}
    adr.w r7, results
    movw r2, #0x3830            @ RCC_AHB1ENR: CRCEN (bit 12) clocks the unit
    movt r2, #0x4002
    ldr r3, [r2]
    orr r3, r3, #0x1000
    str r3, [r2]
    movw r2, #0x3000            @ CRC_DR; CRC_CR at +8
    movt r2, #0x4002
unit_range:
    ldmia r5!, {r0, r1}
    movs r3, #1
    str r3, [r2, #8]            @ CR.RESET: DR back to 0xFFFFFFFF
    lsrs r1, r1, #2
    subs r1, #4
    blo unit_tail
unit_block:                     @ four words a load; the unit takes 4 AHB cycles a word
    ldmia r0!, {r3, r4, r9, r10}
    str r3, [r2]
    str r4, [r2]
    str r9, [r2]
    str r10, [r2]
    subs r1, #4
    bhs unit_block
unit_tail:
    adds r1, #4
unit_words:
    cbz r1, unit_store
    ldr r3, [r0], #4
    str r3, [r2]
    subs r1, #1
    b unit_words
unit_store:
    ldr r3, [r2]
    str r3, [r7], #4
    subs r6, #1
    bne unit_range
    b done
    .org 512
table:                          @ the 256-word CRC table, written by the host
    .org 1536
header:                         @ count, marker, then up to 128 (address, length) pairs
    .org 2568
results:                        @ up to 128 results, then the marker
