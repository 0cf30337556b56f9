# Thin wrapper around Meson.  `make demo` runs the main job, `make check` the
# tests; both install missing Debian build dependencies first (as root) or
# print the apt-get line to run.

BUILD    ?= build
MESON    ?= meson
APT_DEPS := meson ninja-build pkg-config gcc libc6-dev libcmocka-dev \
            libfdt-dev device-tree-compiler linux-libc-dev
MESON_OPTS ?= -Dwerror=true

.PHONY: all deps build demo check bench clean

all: build

deps:
	@missing=""; \
	for p in $(APT_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "missing build dependencies; run:"; \
			echo "  sudo apt-get install -y$$missing"; \
			exit 1; \
		fi; \
	fi

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	./$(BUILD)/tools/uiommu demo

check: build
	$(MESON) test -C $(BUILD) --print-errorlogs

bench: deps
	@test -f build-release/build.ninja || \
		$(MESON) setup build-release --buildtype=release -Ddebug_level=0 -Dtests=disabled
	ninja -C build-release
	@for b in build-release/bench/*_bench; do [ -x "$$b" ] && "$$b"; done

clean:
	rm -rf $(BUILD) build-release build-asan build-tsan build-dbg2
