# 1. Each namespace has its own keys: 0x1234 names a queue here and another one there.
readlink /proc/$$/ns/ipc
sysv msgget 0x1234
touch /run/ns-b
unshare --ipc=/run/ns-b
readlink /proc/$$/ns/ipc
ipcs -q | grep -c 0x1234
sysv msgget 0x1234
# 2. Limits are per namespace too: one queue at most in this one.
sysctl -w kernel.msgmni=1
sysv msgget 0x5678
exit
sysctl kernel.msgmni
# 3. The bind mount keeps the namespace after its last process; unmounting ends it.
nsenter --ipc=/run/ns-b ipcs -q | grep 0x
umount /run/ns-b
nsenter --ipc=/run/ns-b ipcs -q
# 4. Two jobs take one semaphore each, then wait for the other's: a deadlock.
ipcmk -S 2
sysv setval 0 0 1 && sysv setval 0 1 1
sysv semop 0 0 -1 && sleep 1 && sysv semop 0 1 -1 &
sysv semop 0 1 -1 && sleep 1 && sysv semop 0 0 -1 &
wait
ipcs -s -i 0 | tail -n 3
kill %1 %2
ipcs -s -i 0 | tail -n 3
