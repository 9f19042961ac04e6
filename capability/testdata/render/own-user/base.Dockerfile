FROM scratch
COPY busybox /bin/busybox
