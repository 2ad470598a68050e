package main

import (
	"bytes"
	"encoding/binary"
)

// pauseELF returns the pod sandbox's pause program for linux/amd64 as a
// static executable of a few hundred bytes, written here instruction by
// instruction (as upstream's pause is a few lines of C, not a Go program):
// a Go binary costs every pod a Go runtime's start (threads, page faults,
// about a millisecond of CPU) for a process that only waits.
//
// It blocks SIGINT, SIGTERM and SIGCHLD and takes them one at a time with
// rt_sigtimedwait: SIGCHLD reaps every exited child (wait4 WNOHANG until
// none; orphans of the pod's shared PID namespace come to it as PID 1),
// SIGINT or SIGTERM exits 0. Blocked signals reach a PID 1 even without a
// handler, which the kernel would otherwise drop for a namespace's init.
func pauseELF() []byte {
	const (
		sysRtSigprocmask  = 14
		sysWait4          = 61
		sysRtSigtimedwait = 128
		sysExitGroup      = 231
		sigINT            = 2
		sigTERM           = 15
		sigCHLD           = 17
		sigset            = 1<<(sigINT-1) | 1<<(sigTERM-1) | 1<<(sigCHLD-1)
	)
	var code []byte
	emit := func(b ...byte) { code = append(code, b...) }
	imm32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	labels := map[string]int{}
	type jump struct {
		at    int // offset of the rel8 byte
		label string
	}
	var jumps []jump
	jmp := func(op byte, label string) { // op rel8
		emit(op, 0)
		jumps = append(jumps, jump{len(code) - 1, label})
	}
	syscall := func(nr uint32) {
		emit(append([]byte{0xb8}, imm32(nr)...)...) // mov eax, nr
		emit(0x0f, 0x05)                            // syscall
	}

	emit(0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00)  // sub rsp, 256: room for the siginfo
	emit(append([]byte{0x68}, imm32(sigset)...)...) // push sigset: the set is at [rsp], the siginfo at [rsp+8]
	emit(0x31, 0xff)                                // xor edi, edi: SIG_BLOCK
	emit(0x48, 0x89, 0xe6)                          // mov rsi, rsp: set
	emit(0x31, 0xd2)                                // xor edx, edx: no old set
	emit(0x41, 0xba, 8, 0, 0, 0)                    // mov r10d, 8: sigsetsize
	syscall(sysRtSigprocmask)

	labels["wait"] = len(code)
	emit(0x48, 0x89, 0xe7)             // mov rdi, rsp: set
	emit(0x48, 0x8d, 0x74, 0x24, 0x08) // lea rsi, [rsp+8]: siginfo
	emit(0x31, 0xd2)                   // xor edx, edx: no timeout
	emit(0x41, 0xba, 8, 0, 0, 0)       // mov r10d, 8: sigsetsize
	syscall(sysRtSigtimedwait)
	emit(0x83, 0xf8, sigCHLD) // cmp eax, SIGCHLD
	jmp(0x74, "reap")         // je reap
	emit(0x83, 0xf8, sigINT)  // cmp eax, SIGINT
	jmp(0x74, "exit")         // je exit
	emit(0x83, 0xf8, sigTERM) // cmp eax, SIGTERM
	jmp(0x74, "exit")         // je exit
	jmp(0xeb, "wait")         // jmp wait: interrupted

	labels["reap"] = len(code)
	emit(0x48, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff) // mov rdi, -1: any child
	emit(0x31, 0xf6)                               // xor esi, esi: no status
	emit(0xba, 1, 0, 0, 0)                         // mov edx, WNOHANG
	emit(0x45, 0x31, 0xd2)                         // xor r10d, r10d: no rusage
	syscall(sysWait4)
	emit(0x85, 0xc0)  // test eax, eax
	jmp(0x7f, "reap") // jg reap: one reaped, look for more
	jmp(0xeb, "wait") // jmp wait

	labels["exit"] = len(code)
	emit(0x31, 0xff) // xor edi, edi: status 0
	syscall(sysExitGroup)

	for _, j := range jumps {
		rel := labels[j.label] - (j.at + 1)
		if rel < -128 || rel > 127 {
			panic("pauseELF: jump out of rel8 range")
		}
		code[j.at] = byte(int8(rel))
	}

	// An ELF header, a PT_LOAD of the whole file (read, execute) and a
	// PT_GNU_STACK (a stack that is not executable), then the code.
	const (
		base    = 0x400000
		ehsize  = 64
		phsize  = 56
		phnum   = 2
		codeOff = ehsize + phnum*phsize
	)
	size := uint64(codeOff + len(code))
	var b bytes.Buffer
	le := binary.LittleEndian
	w := func(v any) { _ = binary.Write(&b, le, v) }
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* SYSV */})
	b.Write(make([]byte, 8))
	w(uint16(2))              // e_type: ET_EXEC
	w(uint16(0x3e))           // e_machine: x86-64
	w(uint32(1))              // e_version
	w(uint64(base + codeOff)) // e_entry
	w(uint64(ehsize))         // e_phoff
	w(uint64(0))              // e_shoff
	w(uint32(0))              // e_flags
	w(uint16(ehsize))         // e_ehsize
	w(uint16(phsize))         // e_phentsize
	w(uint16(phnum))          // e_phnum
	w(uint16(64))             // e_shentsize
	w(uint16(0))              // e_shnum
	w(uint16(0))              // e_shstrndx
	// PT_LOAD, PF_R|PF_X.
	w(uint32(1))
	w(uint32(5))
	w(uint64(0))
	w(uint64(base))
	w(uint64(base))
	w(size)
	w(size)
	w(uint64(0x1000))
	// PT_GNU_STACK, PF_R|PF_W.
	w(uint32(0x6474e551))
	w(uint32(6))
	for range 6 {
		w(uint64(0))
	}
	b.Write(code)
	return b.Bytes()
}
