# job.mk: a whole pm job as a make DAG.
#
#	make -f share/pm/job.mk CATALOG=catalog.ndjson VIDEOS=videos.ndjson -j2
#
# CATALOG holds product records, VIDEOS video records (pm(7)).  Every
# intermediate result is an NDJSON file under OUT; a step writes a
# temporary file and renames it, so a failed step leaves no target
# behind.  Running the job again does nothing; a video added to VIDEOS
# is processed alone; a changed catalog rebuilds the index and matches
# every video again.  Rejected records of each step are kept in
# OUT/rejects/ (pm(7), "Errors"): a rejected record does not fail the job,
# a fatal error (exit status 2) does.
#
# Variables: CATALOG, VIDEOS, OUT (pm-out), PM_STORE (OUT/store unless
# set), FRAMES (pm-frames' sampling options, -f 1), KP, EMBED, MATCH,
# EVIDENCE (options of those stages), J (threads per stage).

CATALOG ?= catalog.ndjson
VIDEOS ?= videos.ndjson
OUT ?= pm-out
PM_STORE ?= $(OUT)/store
FRAMES ?= -f 1
KP ?=
EMBED ?=
MATCH ?=
EVIDENCE ?=
J ?=
export PM_STORE

SHELL = /bin/bash
.SHELLFLAGS = -c
.DELETE_ON_ERROR:
.SUFFIXES:

# Run after a pipeline: fail, removing the temporary target, on an exit
# status above 1 in any stage.
piped = s=("$${PIPESTATUS[@]}"); for x in "$${s[@]}"; do \
	[ $$x -le 1 ] || { rm -f $@.tmp; exit $$x; }; done
jobs = $(if $(J),-j $(J))

all: $(OUT)/results.ndjson $(OUT)/report/index.html

$(OUT)/catalog.ndjson: $(CATALOG)
	@mkdir -p $(OUT)/rejects
	pm-fetch $(jobs) -r $(OUT)/rejects/catalog-fetch.ndjson <$< | \
	pm-kp $(jobs) $(KP) -r $(OUT)/rejects/catalog-kp.ndjson | \
	pm-embed $(jobs) $(EMBED) -r $(OUT)/rejects/catalog-embed.ndjson >$@.tmp; \
	$(piped); mv $@.tmp $@

$(OUT)/catalog.idx: $(OUT)/catalog.ndjson
	pm-index $(jobs) -o $@.tmp <$< >$(OUT)/index.ndjson.tmp; s=$$?; \
	[ $$s -le 1 ] || { rm -f $@.tmp $(OUT)/index.ndjson.tmp; exit $$s; }; \
	mv $(OUT)/index.ndjson.tmp $(OUT)/index.ndjson; mv $@.tmp $@

# One file per video, rewritten only when that video's record changes, so
# that a new video leaves the others' results standing.
$(OUT)/videos.mk: $(VIDEOS)
	@mkdir -p $(OUT)/v
	jq -r 'select(.type == "video") | .id | tostring | @uri' $< >$(OUT)/v/keys.tmp
	jq -c 'select(.type == "video")' $< >$(OUT)/v/recs.tmp
	paste $(OUT)/v/keys.tmp $(OUT)/v/recs.tmp | \
	while IFS=$$'\t' read -r key rec; do \
		printf '%s\n' "$$rec" >$(OUT)/v/one.tmp; \
		cmp -s $(OUT)/v/one.tmp "$(OUT)/v/$$key.video.ndjson" || \
		    mv $(OUT)/v/one.tmp "$(OUT)/v/$$key.video.ndjson"; \
	done
	{ printf 'RESULTS ='; sed 's|.*| $$(OUT)/v/&.results.ndjson|' $(OUT)/v/keys.tmp | \
	    tr -d '\n'; echo; } >$@.tmp
	rm -f $(OUT)/v/keys.tmp $(OUT)/v/recs.tmp $(OUT)/v/one.tmp
	mv $@.tmp $@

-include $(OUT)/videos.mk

$(OUT)/v/%.results.ndjson: $(OUT)/v/%.video.ndjson $(OUT)/catalog.idx
	@mkdir -p $(OUT)/rejects
	pm-fetch $(jobs) -r $(OUT)/rejects/$*-fetch.ndjson <$< | \
	pm-frames $(jobs) $(FRAMES) -r $(OUT)/rejects/$*-frames.ndjson | \
	pm-kp $(jobs) $(KP) -r $(OUT)/rejects/$*-kp.ndjson | \
	pm-embed $(jobs) $(EMBED) -r $(OUT)/rejects/$*-embed.ndjson | \
	pm-match $(jobs) -i $(OUT)/catalog.idx $(MATCH) -r $(OUT)/rejects/$*-match.ndjson | \
	pm-evidence $(jobs) $(EVIDENCE) -r $(OUT)/rejects/$*-evidence.ndjson >$@.tmp; \
	$(piped); mv $@.tmp $@

$(OUT)/results.ndjson: $(RESULTS) $(OUT)/videos.mk
	cat $(RESULTS) </dev/null >$@.tmp && mv $@.tmp $@

$(OUT)/report/index.html: $(OUT)/results.ndjson $(OUT)/catalog.ndjson
	pm-report -o $(OUT)/report $(OUT)/catalog.ndjson $(OUT)/results.ndjson

.PHONY: all
