package account

import (
	"errors"
	"strings"
	"testing"
)

// TestCommonPasswordsRefused: entries of the list are refused whatever
// their case and whatever the minimum length; a strong passphrase is not.
func TestCommonPasswordsRefused(t *testing.T) {
	for _, pw := range []string{"123456", "password", "qwerty", "QWERTY", "PassWord", " letmein ", "1qaz2wsx3edc", "123qweasdzxc"} {
		err := CheckPassword(pw, 1)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "most common") {
			t.Errorf("CheckPassword(%q) = %v, want refused as common", pw, err)
		}
		if word := strings.TrimSpace(pw); err != nil && !strings.EqualFold(word, "password") && strings.Contains(err.Error(), word) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	for _, pw := range []string{"violet tractor sings at dawn", "qwerty is not my password", "ⅩⅩ correct-ish 2026"} {
		if err := CheckPassword(pw, 0); err != nil {
			t.Errorf("CheckPassword(%q) = %v, want nil", pw, err)
		}
	}
	if n := len(commonPasswords()); n < 2000 {
		t.Errorf("the embedded list has %d entries", n)
	}
}

// TestPasswordNotTheAddress: the address, its local part and its domain
// are refused as the password of that account, in any case.
func TestPasswordNotTheAddress(t *testing.T) {
	a, err := ParseAddress("margaret.hamilton@apollo.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"margaret.hamilton@apollo.example", "MARGARET.HAMILTON", "apollo.example", " margaret.hamilton "} {
		if err := CheckPasswordFor(a, pw, 8); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckPasswordFor(%q) = %v, want ErrInvalid", pw, err)
		}
	}
	if err := CheckPasswordFor(a, "violet tractor sings at dawn", 0); err != nil {
		t.Errorf("a passphrase refused: %v", err)
	}
}

func BenchmarkIsCommonPassword(b *testing.B) {
	commonPasswords()
	for b.Loop() {
		IsCommonPassword("violet tractor sings at dawn")
	}
}
