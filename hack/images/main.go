// Command images builds kstack's test images as OCI image archives without
// docker: pause, busybox (Debian's busybox-static with its applet links)
// and testserver. Each archive holds one uncompressed layer, a config whose
// diff_ids match it, a manifest and an index.json whose
// io.containerd.image.name annotations name the image, so containerd's
// Import (ctr images import, or the kubelet's runtime) picks it up.
//
//	go run ./hack/images -out _output/images [-busybox /bin/busybox]
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Image names; pkg/kubelet and the e2e tests use the same strings.
const (
	PauseImage      = "kstack.local/pause:1.0"
	BusyboxImage    = "kstack.local/busybox:1.0"
	TestServerImage = "kstack.local/testserver:1.0"
)

// file is one entry of a layer.
type file struct {
	path     string // without leading slash
	mode     int64
	data     []byte
	linkname string // symlink target when set
	dir      bool
}

// image is what one archive holds.
type image struct {
	names      []string
	files      []file
	entrypoint []string
	cmd        []string
	env        []string
	stopSignal string
}

func main() {
	out := flag.String("out", "_output/images", "directory for the .tar archives")
	busybox := flag.String("busybox", "/bin/busybox", "a static busybox binary")
	flag.Parse()
	if err := run(*out, *busybox); err != nil {
		log.Fatal(err)
	}
}

func run(out, busybox string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "kstack-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

	// The pause program: a few hundred bytes of machine code on amd64
	// (pause_elf.go), the Go program elsewhere.
	pause := pauseELF()
	if runtime.GOARCH != "amd64" {
		if pause, err = goBuild(bin, "./hack/images/pause"); err != nil {
			return err
		}
	}
	server, err := goBuild(bin, "./hack/images/testserver")
	if err != nil {
		return err
	}
	bb, err := busyboxFiles(busybox)
	if err != nil {
		return err
	}
	images := map[string]image{
		"pause.tar": {names: []string{PauseImage}, entrypoint: []string{"/pause"}, env: []string{path},
			files: append(mountPoints(), file{path: "pause", mode: 0o755, data: pause})},
		"testserver.tar": {names: []string{TestServerImage}, entrypoint: []string{"/testserver"}, env: []string{path},
			files: append(mountPoints(), file{path: "testserver", mode: 0o755, data: server}, file{path: "tmp", mode: 0o1777, dir: true})},
		"busybox.tar": {names: []string{BusyboxImage, "docker.io/library/busybox:latest"}, cmd: []string{"sh"}, env: []string{path},
			files: bb},
	}
	for name, img := range images {
		data, err := archive(img)
		if err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s\t%s\t%d bytes\n", filepath.Join(out, name), strings.Join(img.names, ","), len(data))
	}
	return nil
}

// goBuild builds a static binary of pkg and returns its bytes.
// mountPoints are the directories of an image's root that a container's
// standard mounts (proc, a tmpfs on /dev, sysfs) go on, as a distribution's
// base image has them: the runtime need not create them in the container's
// writable layer, and a pod sandbox can run on a read-only view of its image.
func mountPoints() []file {
	return []file{{path: "dev", mode: 0o755, dir: true}, {path: "proc", mode: 0o555, dir: true}, {path: "sys", mode: 0o555, dir: true}}
}

func goBuild(dir, pkg string) ([]byte, error) {
	dst := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", dst, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s: %w", pkg, err)
	}
	return os.ReadFile(dst)
}

// busyboxFiles is the busybox binary at /bin/busybox plus a symlink for
// every applet at its usual path, and the directories a shell expects.
func busyboxFiles(busybox string) ([]file, error) {
	data, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("read busybox (install busybox-static): %w", err)
	}
	list, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", busybox, err)
	}
	files := append(mountPoints(),
		file{path: "bin", mode: 0o755, dir: true}, file{path: "sbin", mode: 0o755, dir: true},
		file{path: "usr", mode: 0o755, dir: true}, file{path: "usr/bin", mode: 0o755, dir: true},
		file{path: "usr/sbin", mode: 0o755, dir: true}, file{path: "etc", mode: 0o755, dir: true},
		file{path: "root", mode: 0o700, dir: true}, file{path: "var", mode: 0o755, dir: true},
		file{path: "tmp", mode: 0o1777, dir: true},
		file{path: "bin/busybox", mode: 0o755, data: data},
		file{path: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		file{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnogroup:x:65534:\n")},
	)
	for _, applet := range strings.Fields(string(list)) {
		if applet == "bin/busybox" {
			continue
		}
		files = append(files, file{path: applet, mode: 0o777, linkname: "/bin/busybox"})
	}
	return files, nil
}

// archive renders img as an OCI image layout in a tar.
func archive(img image) ([]byte, error) {
	layer, err := layerTar(img.files)
	if err != nil {
		return nil, err
	}
	layerDigest := digest(layer)
	config := map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC().Format(time.RFC3339),
		"config": map[string]any{
			"Entrypoint": img.entrypoint,
			"Cmd":        img.cmd,
			"Env":        img.env,
			"WorkingDir": "/",
			"StopSignal": img.stopSignal,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	manifest := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", configJSON),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar", layer)},
	}
	manifestJSON, err := json.Marshal(manifest)
	if err != nil {
		return nil, err
	}
	var manifests []any
	for _, name := range img.names {
		d := descriptor("application/vnd.oci.image.manifest.v1+json", manifestJSON)
		tag := name[strings.LastIndex(name, ":")+1:]
		d["annotations"] = map[string]string{"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag}
		d["platform"] = map[string]string{"architecture": runtime.GOARCH, "os": "linux"}
		manifests = append(manifests, d)
	}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []file{
		{path: "blobs", mode: 0o755, dir: true},
		{path: "blobs/sha256", mode: 0o755, dir: true},
		{path: "oci-layout", mode: 0o644, data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{path: "index.json", mode: 0o644, data: index},
	}
	for _, blob := range [][]byte{layer, configJSON, manifestJSON} {
		entries = append(entries, file{path: "blobs/sha256/" + strings.TrimPrefix(digest(blob), "sha256:"), mode: 0o644, data: blob})
	}
	if err := writeFiles(tw, entries); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func layerTar(files []file) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := writeFiles(tw, files); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFiles(tw *tar.Writer, files []file) error {
	epoch := time.Unix(0, 0)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case f.dir:
			h.Typeflag, h.Name = tar.TypeDir, f.path+"/"
		case f.linkname != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.linkname
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", f.path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.data); err != nil {
				return fmt.Errorf("tar %s: %w", f.path, err)
			}
		}
	}
	return nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func descriptor(mediaType string, blob []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": digest(blob), "size": len(blob)}
}
