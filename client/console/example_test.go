package console_test

import (
	"fmt"
	"time"

	"musicdb/client/console"
)

func ExampleParse() {
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	cmd, err := console.Parse(`add band ROCK "Pink Floyd" 1965`, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v genre=%s name=%q year=%d\n", cmd.Op, cmd.Genre, cmd.Name, cmd.Year)
	// Output: AddBand genre=rock name="Pink Floyd" year=1965
}

func ExampleParse_password() {
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	cmd, err := console.Parse("ADD USER alice s3cret-pass Alice Liddell", now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cmd.Line)
	fmt.Println(cmd.Username, "/", cmd.Name)
	// Output:
	// ADD USER alice ******** Alice Liddell
	// alice / Alice Liddell
}

func ExampleParse_usageError() {
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	_, err := console.Parse("ADD 1 2 7", now)
	fmt.Println(err)
	// Output: rate must be from 1 to 5; usage: ADD <user_id> <album_id> <rate>
}
