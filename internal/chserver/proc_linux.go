package chserver

import (
	"runtime"
	"syscall"
)

// procAttr puts the server in its own process group (so signals reach any
// child it forks and a Ctrl-C to the terminal's group is ration's to
// handle) and kills it if its parent dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// lockThread keeps the calling goroutine on its thread; it is never
// unlocked, so the thread ends with the goroutine (see spawn).
func lockThread() { runtime.LockOSThread() }
