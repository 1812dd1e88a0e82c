#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for testing `snakemake --profile slurm`
# against a real scheduler (CI does). No systemd: the daemons are started directly,
# and `stop` kills only the processes that `start` recorded.
#
#   scripts/local-slurm.sh start   # install slurm-wlm + munge if missing, configure, start, wait idle
#   scripts/local-slurm.sh stop    # stop the daemons this script started
#   scripts/local-slurm.sh env     # print the export line for SLURM_CONF
#
# Everything lives in $MIRAGE_SLURM_DIR (default /tmp/mirage-slurm). Commands find the
# config through SLURM_CONF=$MIRAGE_SLURM_DIR/slurm.conf; inside a job (srun, which does
# not see SLURM_CONF there) through /etc/slurm/slurm.conf, which is linked to ours only
# when the machine has none, and unlinked by `stop`.
# Two GPUs are declared as a GRES (File=/dev/null,/dev/zero), so rules that ask for GPUs (a 2-GPU
# training job among them) are scheduled and counted on a GPU-less machine.
set -euo pipefail

DIR="${MIRAGE_SLURM_DIR:-/tmp/mirage-slurm}"
export SLURM_CONF="$DIR/slurm.conf"

install_packages() {
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        echo "installing slurm-wlm and munge" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
    fi
}

write_config() {
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge"
    local node cpus mem
    node="$(hostname -s)"
    # CPUs and memory as slurmd sees them; a little memory is kept back for the OS
    read -r cpus mem < <(slurmd -C | awk -F'[ =]' '/^NodeName/ {for (i = 1; i < NF; i++) {if ($i == "CPUs") c = $(i + 1); if ($i == "RealMemory") m = $(i + 1)}; print c, m}')
    mem=$((mem * 9 / 10))
    cat >"$DIR/slurm.conf" <<CONF
ClusterName=mirage-local
SlurmctldHost=$node
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmdSpoolDir=$DIR/spool
StateSaveLocation=$DIR/state
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmUser=root
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without it each job takes the whole node's memory and jobs run one at a time
DefMemPerCPU=1000
# finished jobs stay visible to squeue for the executor's status checks (no slurmdbd)
MinJobAge=300
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
GresTypes=gpu
NodeName=$node CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
    # a fake GPU must name a file, or the node goes INVAL
    cat >"$DIR/gres.conf" <<CONF
AutoDetect=off
NodeName=$node Name=gpu File=/dev/null,/dev/zero Count=2
CONF
}

munge_alive() {
    timeout 5 munge -n >/dev/null 2>&1
}

start_munged() {
    # a socket left by a munged that was killed (not stopped) refuses connections: every
    # SLURM command would then retry for tens of seconds and fail; remove it and start afresh
    if [ -S /run/munge/munge.socket.2 ] && ! munge_alive; then
        echo "removing a stale munge socket (no munged answers on it)" >&2
        rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    fi
    if [ ! -S /run/munge/munge.socket.2 ]; then
        mkdir -p /run/munge
        if id munge >/dev/null 2>&1; then
            chown munge:munge /run/munge "$DIR/munge"
            su -s /bin/sh munge -c "munged --pid-file=$DIR/munge/munged.pid" 2>/dev/null \
                || munged --force --pid-file="$DIR/munge/munged.pid"
        else
            munged --force --pid-file="$DIR/munge/munged.pid"
        fi
        echo "$DIR/munge/munged.pid" >"$DIR/started.munged"
    fi
    local _
    for _ in $(seq 1 20); do munge_alive && return 0; sleep 0.5; done
    echo "munged does not answer on /run/munge/munge.socket.2" >&2
    return 1
}

link_config() {
    # inside a job srun reads /etc/slurm; link ours there unless the machine has its own file.
    # A link there is a local cluster's, left by a run that was killed before `stop` (only one
    # local cluster can run at a time: they share the ports): it is replaced by ours.
    local conf link
    mkdir -p /etc/slurm
    for conf in slurm.conf gres.conf; do
        link="/etc/slurm/$conf"
        if [ -L "$link" ] && [ "$(readlink "$link")" != "$DIR/$conf" ]; then
            echo "replacing a stale link $link -> $(readlink "$link")" >&2
            rm -f "$link"
        fi
        if [ ! -e "$link" ]; then
            ln -s "$DIR/$conf" "$link"
            echo "$link" >>"$DIR/linked"
        fi
    done
}

start() {
    install_packages
    write_config
    start_munged
    link_config
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    # a deadline, not a count of tries: one sinfo can hang for long when something is wrong
    local deadline=$((SECONDS + 90))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if timeout 10 sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
            sinfo
            echo "export SLURM_CONF=$SLURM_CONF"
            return 0
        fi
        sleep 1
    done
    echo "the local SLURM node did not become idle in 90 s; logs in $DIR/log" >&2
    timeout 10 sinfo -N -l >&2 || true
    tail -20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    return 1
}

stop_pidfile() {
    local pidfile="$1"
    if [ -f "$pidfile" ]; then
        local pid
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" || true
            for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
        rm -f "$pidfile"
    fi
}

stop() {
    stop_pidfile "$DIR/slurmd.pid"
    stop_pidfile "$DIR/slurmctld.pid"
    if [ -f "$DIR/linked" ]; then
        local link
        while read -r link; do
            [ -L "$link" ] && rm -f "$link"
        done <"$DIR/linked"
        rm -f "$DIR/linked"
    fi
    if [ -f "$DIR/started.munged" ]; then
        stop_pidfile "$(cat "$DIR/started.munged")"
        rm -f "$DIR/started.munged"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) echo "export SLURM_CONF=$SLURM_CONF" ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
