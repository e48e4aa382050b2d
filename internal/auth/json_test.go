package auth

import (
	"encoding/json"
	"testing"
)

func TestUserJSONUsernameAndDeprecatedName(t *testing.T) {
	for _, v := range []any{User{ID: 3, Name: "alice", Role: RoleAdmin, Via: "session"}, UserInfo{ID: 3, Name: "alice", Role: RoleAdmin}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["username"] != "alice" || m["name"] != "alice" || m["id"] != float64(3) || m["role"] != "admin" {
			t.Errorf("%T: %s", v, b)
		}
		var back UserInfo
		if err := json.Unmarshal(b, &back); err != nil || back.Name != "alice" {
			t.Errorf("%T: round trip %+v %v", v, back, err)
		}
	}
}
