package main

import "syscall"

// childAttr makes the kernel kill a child when the driver dies, so that no process outlives a
// driver that was itself killed.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
