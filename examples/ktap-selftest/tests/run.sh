#!/bin/sh
# A tiny kernel-facing test suite for Verdict's QEMU runner. It runs under busybox sh as root
# of the VM, in the read-only workspace, and prints KTAP on the serial console.
# Every test passes; one is skipped on purpose (see README.md).

failures=0

# result NUMBER NAME [SKIP-REASON]: report the status of the last command as a KTAP result line
result() {
  status=$?
  if [ -n "$3" ]; then
    echo "    ok $1 $2 # SKIP $3"
  elif [ "$status" -eq 0 ]; then
    echo "    ok $1 $2"
  else
    echo "    not ok $1 $2"
    failures=$((failures + 1))
  fi
}

echo "KTAP version 1"
echo "1..2"

echo "    KTAP version 1"
echo "    # Subtest: kernel"
echo "    1..3"
grep -q "^Linux version" /proc/version
result 1 proc_version
echo "    # running on $(uname -r)"
grep -q "^processor" /proc/cpuinfo
result 2 cpuinfo_has_processor
if [ -e /dev/kvm ]; then true; result 3 nested_kvm; else result 3 nested_kvm "no /dev/kvm in the guest"; fi
echo "ok 1 kernel"

echo "    KTAP version 1"
echo "    # Subtest: sandbox"
echo "    1..3"
! touch /workspace/.verdict-write-probe 2>/dev/null
result 1 workspace_is_read_only
echo scratch > /tmp/scratch && grep -q scratch /tmp/scratch
result 2 tmp_is_writable
! ip link show 2>/dev/null | grep -q "eth0"
result 3 no_network_device
if [ "$failures" -eq 0 ]; then echo "ok 2 sandbox"; else echo "not ok 2 sandbox"; fi

exit "$failures"
