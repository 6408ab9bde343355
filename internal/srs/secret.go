package srs

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"sealpost.dev/sealpost/internal/atomicfile"
)

// secretLength is the size of a generated secret: the block size of
// SHA-256's HMAC key is more than enough.
const secretLength = 32

// maxSecretFile bounds what LoadSecrets reads.
const maxSecretFile = 64 << 10

const secretFileHeader = "# Sealpost SRS secrets, one base64 secret a line. The first signs new\n" +
	"# addresses; all are accepted on the way back. To rotate, add a new line on\n" +
	"# top and remove the old one 21 days (srs.max_age) later. Keep this file\n" +
	"# private, and the same on every node that shares the database.\n"

// LoadSecrets reads the secrets kept at path, one base64 secret a line
// (blank lines and lines starting with # are ignored). A missing file is
// created, mode 0600, with one new random secret.
func LoadSecrets(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		secret := make([]byte, secretLength)
		rand.Read(secret)
		text := secretFileHeader + base64.StdEncoding.EncodeToString(secret) + "\n"
		if err := atomicfile.Write(path, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("srs: creating the secret: %w", err)
		}
		return [][]byte{secret}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("srs: %w", err)
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("srs: %s: larger than %d bytes", path, maxSecretFile)
	}
	return parseSecrets(path, data)
}

func parseSecrets(path string, data []byte) ([][]byte, error) {
	var secrets [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("srs: %s:%d: not base64: %v", path, n, err)
		}
		if len(s) < MinSecretLength {
			return nil, fmt.Errorf("srs: %s:%d: secret of %d bytes, the least is %d", path, n, len(s), MinSecretLength)
		}
		secrets = append(secrets, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("srs: %s: %w", path, err)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("srs: %s: no secret", path)
	}
	return secrets, nil
}
