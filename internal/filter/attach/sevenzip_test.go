package attach

import (
	"encoding/binary"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestSevenZip reads archives 7-Zip made (testdata/7z/README): their
// names, and encryption whether or not the header is compressed.
func TestSevenZip(t *testing.T) {
	tests := []struct {
		file   string
		want   []string
		reason string // a part of every finding's reason
	}{
		{"plain.7z", nil, ""},
		{"withdir.7z", nil, ""},
		{"stored.7z", nil, ""},
		{"nonsolid.7z", []string{NameDoubleExtension, NameExecutable}, "a.7z/invoice.pdf.exe"},
		{"program.7z", []string{NameDoubleExtension, NameExecutable}, "a.7z/invoice.pdf.exe"},
		{"plainheader.7z", []string{NameDoubleExtension, NameExecutable}, "a.7z/invoice.pdf.exe"},
		{"bcj2.7z", []string{NameDoubleExtension, NameExecutable}, "a.7z/invoice.pdf.exe"},
		{"many.7z", []string{NameScript}, "a.7z/sub/run.vbs"},
		// The files encrypted, the header compressed but not: the AES
		// coder is inside the compressed header.
		{"encrypted.7z", []string{NameEncrypted}, "password-protected 7z archive"},
		{"hidden.7z", []string{NameEncrypted}, "(names hidden)"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/7z/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			fs := Inspect("a.7z", "application/x-7z-compressed", data, Limits{})
			if got, want := findingNames(fs), slices.Sorted(slices.Values(tt.want)); !slices.Equal(got, want) {
				t.Fatalf("findings %v, want %v\n%v", got, want, fs)
			}
			for _, f := range fs {
				if !strings.Contains(f.Reason, tt.reason) {
					t.Errorf("reason %q does not say %q", f.Reason, tt.reason)
				}
			}
		})
	}
}

// TestSevenZipNames: the names read are the names 7-Zip lists.
func TestSevenZipNames(t *testing.T) {
	data, err := os.ReadFile("testdata/7z/many.7z")
	if err != nil {
		t.Fatal(err)
	}
	hdr, ok := sevenZipNextHeader(data)
	if !ok || hdr[0] != szEncodedHeader {
		t.Fatalf("many.7z: header %v, want an encoded one", ok)
	}
	r := &szReader{b: hdr, p: 1}
	var s szStreams
	if err := r.streamsInfo(&s); err != nil {
		t.Fatal(err)
	}
	decoded, err := s.folders[0].decode(data, s.packPos, s.packSizes[0])
	if err != nil {
		t.Fatal(err)
	}
	names, aes, err := (&szReader{b: decoded}).header()
	if err != nil || aes {
		t.Fatalf("header: %v, aes %v", err, aes)
	}
	if len(names) != 32 || !slices.Contains(names, "file17.dat") || !slices.Contains(names, "sub/run.vbs") {
		t.Fatalf("names %q", names)
	}
}

// TestSevenZipDamaged: archives cut short or with bytes changed give at
// most a finding, never a crash, and no more than the limit of files.
func TestSevenZipDamaged(t *testing.T) {
	for _, name := range []string{"program.7z", "encrypted.7z", "many.7z", "bcj2.7z"} {
		data, err := os.ReadFile("testdata/7z/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for cut := 0; cut < len(data); cut += max(1, len(data)/97) {
			Inspect("a.7z", "", data[:cut], Limits{})
		}
		// Every byte of the header (at the end, 7-Zip writes it last) and
		// the signature header's pointers changed in turn.
		for i := max(12, len(data)-400); i < len(data); i++ {
			b := slices.Clone(data)
			b[i] ^= 0x5a
			Inspect("a.7z", "", b, Limits{})
		}
	}
	data, err := os.ReadFile("testdata/7z/many.7z")
	if err != nil {
		t.Fatal(err)
	}
	fs := Inspect("a.7z", "", data, Limits{MaxFiles: 10})
	if !slices.Contains(findingNames(fs), NameLimit) {
		t.Fatalf("31 files with a limit of 10: findings %v", fs)
	}
}

// TestSevenZipMemory: counts in a header are the sender's; what is made
// for them grows as they are read, not to the size they claim.
func TestSevenZipMemory(t *testing.T) {
	claim := func(prefix []byte, size int) []byte {
		h := append(slices.Clone(prefix), 0xFF) // a number of eight bytes follows
		n := make([]byte, 8)
		binary.LittleEndian.PutUint64(n, uint64(size-32))
		h = append(h, n...)
		return sevenZip(append(h, make([]byte, size)...))
	}
	for name, data := range map[string][]byte{
		"folders":    claim([]byte{szHeader, szMainStreamsInfo, szUnpackInfo, szFolderID}, 4<<20),
		"pack sizes": claim([]byte{szHeader, szMainStreamsInfo, szPackInfo, 0x00}, 4<<20),
		"names":      claim([]byte{szHeader, szFilesInfo}, 4<<20),
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		fs := Inspect("a.7z", "", data, Limits{})
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: %d bytes allocated for a %d-byte archive (findings %v)", name, alloc, len(data), fs)
		}
	}
}

// TestSevenZipVariants: headers 7-Zip reads though it does not write them
// so are read too, so that they cannot hide the names: property IDs in
// more bytes than needed, an empty AdditionalStreamsInfo, a header
// encoded with the Copy coder.
func TestSevenZipVariants(t *testing.T) {
	data, err := os.ReadFile("testdata/7z/plainheader.7z")
	if err != nil {
		t.Fatal(err)
	}
	hdr, ok := sevenZipNextHeader(data)
	if !ok || hdr[0] != szHeader {
		t.Fatal("plainheader.7z: want a plain header")
	}
	packed := data[32 : len(data)-len(hdr)] // the files, before the header
	// rewrap puts a new header after the packed files.
	rewrap := func(h []byte) []byte {
		b := append(slices.Clone(data[:32]), packed...)
		binary.LittleEndian.PutUint64(b[12:], uint64(len(packed)))
		binary.LittleEndian.PutUint64(b[20:], uint64(len(h)))
		return append(b, h...)
	}
	long := append([]byte{0x80, szHeader}, hdr[1:]...)
	extra := append([]byte{szHeader, szAdditionalStreams, szEnd}, hdr[1:]...)
	// The plain header stored after the files, and an encoded header
	// that points at it through the Copy coder.
	stored := append(slices.Clone(packed), hdr...)
	encoded := []byte{szEncodedHeader, szPackInfo, byte(len(packed)), 1, szSize, byte(len(hdr)), szEnd,
		szUnpackInfo, szFolderID, 1, 0, 1, 0x01, 0x00, szCodersUnpackSize, byte(len(hdr)), szEnd, szEnd}
	copied := append(slices.Clone(data[:32]), stored...)
	binary.LittleEndian.PutUint64(copied[12:], uint64(len(stored)))
	binary.LittleEndian.PutUint64(copied[20:], uint64(len(encoded)))
	copied = append(copied, encoded...)
	for name, archive := range map[string][]byte{"long ID": rewrap(long), "additional streams": rewrap(extra), "copy coder": copied} {
		fs := Inspect("a.7z", "", archive, Limits{})
		if got, want := findingNames(fs), []string{NameDoubleExtension, NameExecutable}; !slices.Equal(got, want) {
			t.Errorf("%s: findings %v, want %v", name, fs, want)
		}
	}
}
