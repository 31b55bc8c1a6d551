#!/usr/bin/env bash
# kexin-backup.sh — nightly logical backup (run from cron as a user that can read the database).
set -euo pipefail
DEST=${DEST:-/var/backups/kexin}
KEEP_DAYS=${KEEP_DAYS:-14}
mkdir -p "$DEST"
pg_dump --format=custom --no-owner --dbname="${KEXIN_MIGRATE_DSN:?set the owner DSN}" \
  --file="$DEST/kexin-$(date +%Y%m%d-%H%M).dump"
tar -C /var/lib/kexin -czf "$DEST/files-$(date +%Y%m%d-%H%M).tar.gz" files 2>/dev/null || true
find "$DEST" -type f -mtime +"$KEEP_DAYS" -delete
