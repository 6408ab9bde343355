//go:build amd64 && !purego

#include "textflag.h"

// func scanPairs(p []byte, relaxed bool) int
//
// For 32 positions i at a time, a = p[i], b = p[i+1] (two overlapping
// loads), a pair is bad when
//	(b == LF && a != CR) || (a == LF && b == CR)
//	|| relaxed && (a == TAB || a == SP && (b == SP || b == CR))
// which is badPair in scan.go. On a bad pair the index of the first one is
// returned; else the first index not looked at.
TEXT ·scanPairs(SB), NOSPLIT, $0-40
	MOVQ p_base+0(FP), SI
	MOVQ p_len+8(FP), DX
	MOVBLZX relaxed+24(FP), AX
	NEGL AX // 0 or all ones: the relaxed mask

	MOVQ AX, X0
	VPBROADCASTB X0, Y14
	MOVQ $0x09, AX
	MOVQ AX, X0
	VPBROADCASTB X0, Y10 // TAB
	MOVQ $0x20, AX
	MOVQ AX, X0
	VPBROADCASTB X0, Y11 // SP
	MOVQ $0x0d, AX
	MOVQ AX, X0
	VPBROADCASTB X0, Y12 // CR
	MOVQ $0x0a, AX
	MOVQ AX, X0
	VPBROADCASTB X0, Y13 // LF

	XORQ CX, CX
	MOVQ DX, R8
	SUBQ $33, R8 // the last i with 33 bytes from it
	JL   done

loop:
	VMOVDQU (SI)(CX*1), Y0  // a
	VMOVDQU 1(SI)(CX*1), Y1 // b
	VPCMPEQB Y0, Y12, Y2 // a == CR
	VPCMPEQB Y1, Y13, Y3 // b == LF
	VPANDN Y3, Y2, Y4    // b == LF && a != CR
	VPCMPEQB Y0, Y13, Y5 // a == LF
	VPCMPEQB Y1, Y12, Y6 // b == CR
	VPAND Y5, Y6, Y5
	VPOR Y5, Y4, Y4
	VPCMPEQB Y0, Y11, Y7 // a == SP
	VPCMPEQB Y1, Y11, Y8 // b == SP
	VPOR Y8, Y6, Y8
	VPAND Y7, Y8, Y7
	VPCMPEQB Y0, Y10, Y9 // a == TAB
	VPOR Y9, Y7, Y7
	VPAND Y14, Y7, Y7    // relaxed only
	VPOR Y7, Y4, Y4
	VPTEST Y4, Y4
	JNZ  found
	ADDQ $32, CX
	CMPQ CX, R8
	JLE  loop

done:
	VZEROUPPER
	MOVQ CX, ret+32(FP)
	RET

found:
	VPMOVMSKB Y4, BX
	BSFL BX, BX
	ADDQ BX, CX
	VZEROUPPER
	MOVQ CX, ret+32(FP)
	RET
