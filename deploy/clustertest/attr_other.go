//go:build !linux

package main

import "syscall"

// childAttr is empty off Linux: the driver's own clean-up and cluster-test.sh's trap stop the children.
func childAttr() *syscall.SysProcAttr { return nil }
