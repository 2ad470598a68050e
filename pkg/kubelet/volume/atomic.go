package volume

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File is one file of an atomically written volume.
type File struct {
	Data []byte
	Mode os.FileMode
}

const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// writeAtomic makes dir show exactly files (relative paths), as upstream's
// AtomicWriter does: the files live in a timestamped directory
// `..<timestamp>`, the symlink `..data` points at it, and each top-level
// name is a symlink into `..data`. An update writes a new timestamped
// directory and renames a fresh symlink over `..data`, so a reader sees
// either the whole old or the whole new set. gid >= 0 makes the files group
// owned by gid (fsGroup). It reports whether anything changed.
func writeAtomic(dir string, files map[string]File, gid int64) (bool, error) {
	for p := range files {
		if err := validRelPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	oldTS, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if oldTS != "" && sameContent(filepath.Join(dir, oldTS), files) {
		return false, nil
	}
	tsDir, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	// MkdirTemp makes 0700; readers in containers run as any user.
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return false, err
	}
	for p, f := range files {
		full := filepath.Join(tsDir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, f.Data, f.Mode.Perm()); err != nil {
			return false, err
		}
		// WriteFile's mode is subject to the umask.
		if err := os.Chmod(full, f.Mode.Perm()); err != nil {
			return false, err
		}
		if gid >= 0 {
			if err := os.Lchown(full, -1, int(gid)); err != nil {
				return false, err
			}
		}
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		return false, err
	}
	// User-visible names: one symlink per top-level path component.
	want := map[string]bool{}
	for p := range files {
		top, _, _ := strings.Cut(p, "/")
		want[top] = true
	}
	for top := range want {
		link := filepath.Join(dir, top)
		target := filepath.Join(dataDirName, top)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return false, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			if name != dataDirName && name != filepath.Base(tsDir) {
				_ = os.RemoveAll(filepath.Join(dir, name))
			}
			continue
		}
		if !want[name] {
			_ = os.RemoveAll(filepath.Join(dir, name))
		}
	}
	return true, nil
}

// sameContent says whether dir holds exactly files with their modes.
func sameContent(dir string, files map[string]File) bool {
	seen := 0
	same := true
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		f, ok := files[rel]
		if !ok {
			same = false
			return filepath.SkipAll
		}
		seen++
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if info.Mode().Perm() != f.Mode.Perm() || !bytes.Equal(data, f.Data) {
			same = false
			return filepath.SkipAll
		}
		return nil
	})
	return err == nil && same && seen == len(files)
}

// validRelPath rejects absolute paths, `..` elements and names starting
// with `..` (reserved for the writer), as upstream's validation does.
func validRelPath(p string) error {
	if p == "" || filepath.IsAbs(p) {
		return fmt.Errorf("invalid path %q: must be relative", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || strings.HasPrefix(el, "..") {
			return fmt.Errorf("invalid path %q: must not contain '..'", p)
		}
	}
	return nil
}
