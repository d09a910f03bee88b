module musicdb

go 1.26
