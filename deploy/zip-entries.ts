import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { inflateRawSync } from 'node:zlib';

/** One file in a zip archive, as its central directory lists it. */
export interface ZipEntry {
  name: string;
  compressedBytes: number;
  uncompressedBytes: number;
  /** Offset of the entry's local header, where its data follows. */
  localHeaderOffset: number;
  /** 0 stored, 8 deflated. */
  method: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_HEADER = 0x02014b50;

/**
 * Lists a zip's files from its central directory (what `unzip -l` shows), for the function
 * artifacts `serverless package` writes. No ZIP64: Lambda zips are far below 4 GiB.
 */
export function readZipEntries(path: string): ZipEntry[] {
  const zip = readFileSync(path);
  // The end record sits in the last 22 bytes plus an optional comment of up to 64 KiB.
  let end = -1;
  for (let offset = zip.length - 22; offset >= Math.max(0, zip.length - 22 - 0xffff); offset -= 1) {
    if (zip.readUInt32LE(offset) === END_OF_CENTRAL_DIRECTORY) {
      end = offset;
      break;
    }
  }
  if (end === -1) throw new Error(`${path}: not a zip archive (no end of central directory)`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(offset) !== CENTRAL_DIRECTORY_HEADER) throw new Error(`${path}: malformed central directory`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      compressedBytes: zip.readUInt32LE(offset + 20),
      uncompressedBytes: zip.readUInt32LE(offset + 24),
      localHeaderOffset: zip.readUInt32LE(offset + 42),
      method: zip.readUInt16LE(offset + 10),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

const LOCAL_FILE_HEADER = 0x04034b50;

/** Unpacks a zip into a folder (stored and deflated entries, which is all the packager writes). */
export function extractZip(path: string, destination: string): void {
  const zip = readFileSync(path);
  const root = resolve(destination);
  for (const entry of readZipEntries(path)) {
    if (entry.name.endsWith('/')) continue;
    const target = resolve(root, entry.name);
    if (!target.startsWith(root + sep)) throw new Error(`${path}: entry ${entry.name} would leave ${destination}`);
    const header = entry.localHeaderOffset;
    if (zip.readUInt32LE(header) !== LOCAL_FILE_HEADER) throw new Error(`${path}: malformed local header for ${entry.name}`);
    const dataStart = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
    const data = zip.subarray(dataStart, dataStart + entry.compressedBytes);
    if (entry.method !== 0 && entry.method !== 8) throw new Error(`${path}: ${entry.name} uses compression method ${entry.method}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, entry.method === 8 ? inflateRawSync(data) : data);
  }
}

