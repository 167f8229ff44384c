import { FileHandleLike, FileSystem, nodeFileSystem } from '../../src/storage/fileSystem';

/**
 * The real file system, every call passed on: a test's file system extends it and changes
 * `open` (to count, hold or fail opens).
 *
 * @example
 * class Counting extends PassThroughFileSystem { opens = 0; override open(f: string, fl: string | number, m?: number) { this.opens++; return super.open(f, fl, m); } }
 */
export class PassThroughFileSystem implements FileSystem {
  open(file: string, flags: string | number, mode?: number): Promise<FileHandleLike> {
    return nodeFileSystem.open(file, flags, mode);
  }

  readdir = (p: string) => nodeFileSystem.readdir(p);
  mkdir = (p: string, o: { recursive: true }) => nodeFileSystem.mkdir(p, o);
  rename = (a: string, b: string) => nodeFileSystem.rename(a, b);
  unlink = (p: string) => nodeFileSystem.unlink(p);
  link = (a: string, b: string) => nodeFileSystem.link(a, b);
  readFile = (p: string) => nodeFileSystem.readFile(p);
}
