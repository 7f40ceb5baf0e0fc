// Package atomicfile writes files so that a reader, or a program started after a crash, sees
// either the old content or the new one, never a part of it.
//
// [Write] writes to a temporary file in the target's directory, syncs it, renames it over the
// target and syncs the directory, so that the rename itself survives a power loss. A writer
// killed before the rename leaves its temporary file behind; [RemoveStale] removes those of
// a target.
//
//	err := atomicfile.WriteFile("echo.session", data, 0o600)
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Temporary files are named "." + name + "." + digits + ".tmp" for a target named name, in
// the target's directory: hidden, and recognisable by [RemoveStale]. A name too long to take
// the additions is shortened, and a hash of the full name keeps the targets apart.
const (
	tempSuffix  = ".tmp"
	maxTempStem = 128 // bytes of the name kept in a temporary file name
)

// Write creates or replaces the file path with what write writes to w. The file is complete
// when it appears at path: write's output goes to a temporary file beside path, which is
// synced, given mode perm (exactly: the umask does not apply) and renamed over path, and then
// path's directory is synced.
//
// On any failure, an error from write included (it is returned as it is), or a panic in
// write, the temporary file is removed and path is left as it was. An error after the rename,
// from syncing the directory, means the new file is in place but may not survive a crash.
func Write(path string, perm fs.FileMode, write func(w io.Writer) error) (err error) {
	dir, name := filepath.Split(path)
	if name == "" {
		return &fs.PathError{Op: "atomicfile.Write", Path: path, Err: errors.New("no file name")}
	}
	if dir == "" {
		dir = "."
	}
	f, err := createTemp(dir, name)
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	renamed = true
	return syncDir(dir)
}

// WriteFile is [Write] of data: it creates or replaces the file path with data, atomically.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// RemoveStale removes the temporary files that writers of path killed before their rename
// left in path's directory: those [Write] names, and those named "." + name + ".tmp" + digits
// that earlier versions of this module wrote. Other files are never touched. It returns the
// number of files removed and the errors met, joined; a missing directory is no error.
//
// A temporary file of a writer still running is not told apart from a stale one: call
// RemoveStale when no other writer of path runs, such as at start-up, while holding the lock
// that makes this process the only writer.
func RemoveStale(path string) (int, error) {
	dir, name := filepath.Split(path)
	if name == "" {
		return 0, &fs.PathError{Op: "atomicfile.RemoveStale", Path: path, Err: errors.New("no file name")}
	}
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempOf(e.Name(), name) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// tempStem returns the part of a temporary file's name that identifies the target name.
func tempStem(name string) string {
	if len(name) <= maxTempStem {
		return name
	}
	cut := maxTempStem - 9 // room for "~" and 8 hex digits
	for cut > 0 && !isRuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "~" + fmt.Sprintf("%08x", fnv32(name))
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// fnv32 is the 32-bit FNV-1a hash of s.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// createTemp creates a new temporary file for the target name in dir, with mode 0600.
func createTemp(dir, name string) (*os.File, error) {
	prefix := filepath.Join(dir, "."+tempStem(name)+".")
	for range 10000 {
		p := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10) + tempSuffix
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, &fs.PathError{Op: "atomicfile.createTemp", Path: prefix + "*" + tempSuffix, Err: fs.ErrExist}
}

// isTempOf reports whether file is a temporary file of the target name.
func isTempOf(file, name string) bool {
	if rest, ok := strings.CutPrefix(file, "."+tempStem(name)+"."); ok {
		if digits, ok := strings.CutSuffix(rest, tempSuffix); ok && allDigits(digits) {
			return true
		}
	}
	// The form of earlier versions: os.CreateTemp(dir, "."+name+".tmp*").
	rest, ok := strings.CutPrefix(file, "."+name+tempSuffix)
	return ok && allDigits(rest)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// syncDir syncs the directory dir, so that a rename in it is durable. Windows cannot sync a
// directory (and makes renames durable on its own); file systems that cannot either say so
// with EINVAL or ENOTSUP, which is not an error.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}
