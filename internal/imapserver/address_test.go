package imapserver

import "testing"

func TestAddressMatches(t *testing.T) {
	tests := []struct {
		v, sub string
		want   bool
	}{
		{"RealFrom <user-from@domain.org>", "realfrom", true},
		{"RealFrom <user-from@domain.org>", "user-from@domain.org", true},
		{"RealFrom <user-from@domain.org>", "from <user", true},
		{"<user-from (comment)@ (comment) domain.org>", "user-from@domain.org", true},
		{"user-from@domain.org (RealFrom)", "ealfro", true},
		{"groupname: groupuser1@domain.org;", "groupname", true},
		{"groupname: groupuser1@domain.org;", "groupuser4", false},
		{"a@b", "c", false},
		{"not an address at all:", "not an", true},
		{"=?iso-8859-1?q?foo_b=E4r?= <e@f.g>", "FOO BÄR", true},
		{"undisclosed-recipients:;", "undisclosed", true},
		{"undisclosed", "missing_domain", false},
		{"", "", true},
	}
	for _, tc := range tests {
		if got := addressMatches(tc.v, tc.sub); got != tc.want {
			t.Errorf("addressMatches(%q, %q) = %v", tc.v, tc.sub, got)
		}
	}
}
