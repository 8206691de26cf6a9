#!/usr/bin/env bash
# Builds the lab's base image: a Debian 13 (trixie) root with systemd, OpenSSH, sudo,
# rootless podman, the lab users, a local apt repository holding every package the roles
# install, and promtool/amtool as validators. Usage: build-image.sh DEST KEY.pub
# The lab driver (lab/lab.ts) caches the result under a hash of this file.
set -euo pipefail
dest=$1
pubkey=$2
mirror=${SENEX_LAB_MIRROR:-http://deb.debian.org/debian}
tmp="$dest.building"
rm -rf "$tmp"
mkdir -p "$(dirname "$dest")"

# Packages the roles install on hosts: downloaded into the image's local repository.
role_packages="nginx postfix mailutils logrotate cron curl prometheus-node-exporter prometheus-postgres-exporter prometheus-redis-exporter"
# Validators the tests use on the hosts (their services masked).
validators="prometheus prometheus-alertmanager"

# python3 and python3-apt are what Ansible's modules need on a managed host (its apt module in
# --check fails without python3-apt): the tests and the benchmark run ansible-playbook here too.
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,libpam-systemd,dbus-user-session,openssh-server,sudo,iproute2,podman,uidmap,passt,python3,python3-apt,ca-certificates \
  trixie "$tmp" "$mirror"

inside() { chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
# No service may start inside the chroot while we install.
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 755 "$tmp/usr/sbin/policy-rc.d"
echo "deb $mirror trixie main" >"$tmp/etc/apt/sources.list"
mount --bind /proc "$tmp/proc"
trap 'umount "$tmp/proc" 2>/dev/null || true' EXIT
inside apt-get update -qq
inside apt-get clean
inside apt-get install -y -qq --download-only $role_packages
mkdir -p "$tmp/srv/lab-repo"
mv "$tmp"/var/cache/apt/archives/*.deb "$tmp/srv/lab-repo/"
inside apt-get install -y -qq --no-install-recommends $validators
inside systemctl mask prometheus.service prometheus-alertmanager.service
(cd "$tmp/srv/lab-repo" && apt-ftparchive packages . >Packages)
echo 'deb [trusted=yes] file:/srv/lab-repo ./' >"$tmp/etc/apt/sources.list"
inside apt-get update -qq
inside apt-get clean
umount "$tmp/proc"
trap - EXIT

# The guests' root is an overlayfs, on which podman's overlay driver cannot stack (and
# /dev/fuse, for fuse-overlayfs, is not in the container): rootless storage uses vfs here.
mkdir -p "$tmp/etc/containers"
printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' >"$tmp/etc/containers/storage.conf"

# Users: root and deploy (passwordless sudo) and ops (sudo with a password) log in with the
# lab key; senex is the application user for rootless podman.
# Rootless podman needs subordinate IDs: useradd allocates them when these files exist.
touch "$tmp/etc/subuid" "$tmp/etc/subgid"
inside useradd --create-home --shell /bin/bash deploy
inside useradd --create-home --shell /bin/bash ops
inside useradd --create-home --shell /bin/bash senex
grep -q '^senex:' "$tmp/etc/subuid" || { echo "build-image: useradd gave senex no subordinate UIDs" >&2; exit 1; }
echo 'ops:ops-lab-password' | inside chpasswd
printf 'deploy ALL=(ALL) NOPASSWD: ALL\n' >"$tmp/etc/sudoers.d/deploy"
printf 'ops ALL=(ALL) ALL\n' >"$tmp/etc/sudoers.d/ops"
chmod 440 "$tmp/etc/sudoers.d/deploy" "$tmp/etc/sudoers.d/ops"
for u in root deploy ops; do
  home=$(inside getent passwd "$u" | cut -d: -f6)
  mkdir -p "$tmp$home/.ssh"
  cp "$pubkey" "$tmp$home/.ssh/authorized_keys"
  inside chown -R "$u:$u" "$home/.ssh"
  chmod 700 "$tmp$home/.ssh"
  chmod 600 "$tmp$home/.ssh/authorized_keys"
done

# Per-host identity is made at boot: host keys and machine-id are created per host.
rm -f "$tmp"/etc/ssh/ssh_host_*
: >"$tmp/etc/machine-id"
rm -f "$tmp/usr/sbin/policy-rc.d"
# Persistent journal, as the roles expect.
mkdir -p "$tmp/var/log/journal"
# User managers are never stopped: in a container on this kernel a stopping user manager
# cannot spawn its executor and hangs in final-sigkill, and every later login of that user
# waits for it (seen as SSH sessions that never open a channel).
mkdir -p "$tmp/etc/systemd/logind.conf.d"
printf '[Login]\nUserStopDelaySec=infinity\n' >"$tmp/etc/systemd/logind.conf.d/lab.conf"
# Nothing in the lab should wait for a network that is configured from outside.
inside systemctl mask systemd-networkd-wait-online.service 2>/dev/null || true
inside systemctl enable ssh.service

mv "$tmp" "$dest"
