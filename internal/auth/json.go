package auth

import "encoding/json"

// The API names a user's login name "username" everywhere. For one release
// User and UserInfo also carry it as "name", the field they used to have;
// "name" is deprecated (the OpenAPI document says so) and will go.

// MarshalJSON writes the user with "username" and the deprecated "name".
func (u User) MarshalJSON() ([]byte, error) {
	type plain User
	return json.Marshal(struct {
		plain
		LegacyName string `json:"name"`
	}{plain(u), u.Name})
}

// MarshalJSON writes the user with "username" and the deprecated "name".
func (u UserInfo) MarshalJSON() ([]byte, error) {
	type plain UserInfo
	return json.Marshal(struct {
		plain
		LegacyName string `json:"name"`
	}{plain(u), u.Name})
}
