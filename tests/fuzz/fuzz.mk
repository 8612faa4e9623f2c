# Builds the fuzz targets; tests/fuzz/run drives it (see there). Not part of automake:
# the fuzzers need their own compiler flags for every object, common/ included.
#   make -f tests/fuzz/fuzz.mk TOP=... OUT=... CONFIG_DIR=... MODE=libfuzzer|replay CC=...
TARGETS = http_head return_url callback seal sign_header settings token_form flow_request result
MODE ?= libfuzzer
COMMON_SRC = $(wildcard $(TOP)/common/*.c)
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
ifeq ($(MODE),libfuzzer)
SAN += -fsanitize=fuzzer-no-link
LINK_SAN = -fsanitize=fuzzer,address,undefined
SUPPORT =
else
LINK_SAN = -fsanitize=address,undefined
SUPPORT = $(OUT)/driver.o
endif
CPPFLAGS = -I$(CONFIG_DIR) -I$(TOP)/common -I$(TOP)/tests/fuzz $(shell pkg-config --cflags openssl jansson)
CFLAGS = -g -O1 -fno-omit-frame-pointer $(SAN) -Wall -Wextra -Wno-unused-parameter -Werror
LIBS = $(shell pkg-config --libs openssl jansson)

COMMON_OBJ = $(patsubst $(TOP)/common/%.c,$(OUT)/common/%.o,$(COMMON_SRC))
BINS = $(addprefix $(OUT)/fuzz_,$(TARGETS))

all: $(BINS)

$(OUT)/common/%.o: $(TOP)/common/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -c $< -o $@

$(OUT)/%.o: $(TOP)/tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -c $< -o $@

$(OUT)/fuzz_%: $(OUT)/fuzz_%.o $(OUT)/fuzz_support.o $(SUPPORT) $(COMMON_OBJ)
	$(CC) $(LINK_SAN) -o $@ $^ $(LIBS)

-include $(wildcard $(OUT)/*.d $(OUT)/common/*.d)
.PHONY: all
.SECONDARY:
