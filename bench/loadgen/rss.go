package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ReadRSS returns a process's resident set size in bytes (VmRSS in
// /proc/PID/status).
func ReadRSS(pid int) (int64, error) {
	return procStatusKB(pid, "VmRSS:")
}

func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read status of process %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == field {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("process %d: %s %q: %w", pid, field, f[1], err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("process %d: no %s in /proc/%d/status", pid, field, pid)
}

// OpenFilesLimit returns the soft limit on open files of a process (0:
// this one), or 0 when it cannot be read.
func OpenFilesLimit(pid int) int {
	if pid == 0 {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0
		}
		return int(min(lim.Cur, 1<<30))
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				n, err := strconv.Atoi(f[0])
				if err == nil {
					return n
				}
			}
		}
	}
	return 0
}

// PerProcessLimit is how many connections one load-generator process
// holds: its open files limit less a reserve for everything else (on this
// machine 20,000 - 1,000 = 19,000).
func PerProcessLimit() int {
	n := OpenFilesLimit(0)
	if n <= 0 {
		return 900
	}
	reserve := max(64, min(1000, n/20))
	return max(n-reserve, 1)
}
