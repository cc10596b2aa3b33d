//go:build unix && !linux

package chserver

import "syscall"

// procAttr puts the server in its own process group. Only Linux has a
// parent-death signal.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func lockThread() {}
