import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  readonly pid: number;
  /** As the kernel holds it: `127.0.0.1`, `0.0.0.0`, `::1`, `::`... */
  readonly address: string;
  readonly port: number;
}

/**
 * The TCP sockets that a process and all its descendants listen on, read from /proc (Linux): what `ss -ltnp` shows,
 * independent of what the program says about itself.
 */
export function listeningSockets(rootPid: number): ListeningSocket[] {
  const pids = descendants(rootPid);
  const owners = new Map<string, number>();
  for (const pid of pids) {
    for (const fd of safeReaddir(`/proc/${pid}/fd`)) {
      const link = safeReadlink(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined) owners.set(inode, pid);
    }
  }
  const sockets: ListeningSocket[] = [];
  for (const [file, decode] of [
    ['/proc/net/tcp', ipv4],
    ['/proc/net/tcp6', ipv6],
  ] as const) {
    for (const row of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const [, local = '', , state, , , , , , inode = ''] = row.trim().split(/\s+/);
      const pid = owners.get(inode);
      // 0A: LISTEN.
      if (state !== '0A' || pid === undefined) continue;
      const [hexAddress = '', hexPort = '0'] = local.split(':');
      sockets.push({ pid, address: decode(hexAddress), port: Number.parseInt(hexPort, 16) });
    }
  }
  return sockets;
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

function descendants(rootPid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const found = [rootPid];
  for (let index = 0; index < found.length; index += 1) {
    for (const [pid, ppid] of parentOf) if (ppid === found[index]) found.push(pid);
  }
  return found;
}

/** `0100007F` -> 127.0.0.1 (the kernel prints the 32-bit word in host order, little-endian here). */
function ipv4(hex: string): string {
  return (hex.match(/../g) ?? [])
    .reverse()
    .map((byte) => Number.parseInt(byte, 16))
    .join('.');
}

function ipv6(hex: string): string {
  const rawWords = hex.match(/.{8}/g) ?? [];
  const words = rawWords.map((word) => (word.match(/../g) ?? []).reverse().join(''));
  const groups = words.join('').match(/.{4}/g) ?? [];
  const text = groups.map((group) => Number.parseInt(group, 16).toString(16)).join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  if (text.startsWith('0:0:0:0:0:ffff:')) return `::ffff:${ipv4(rawWords[3] ?? '')}`;
  return text;
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
