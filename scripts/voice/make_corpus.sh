#!/usr/bin/env bash
# Synthesises the multi-speaker corpus the default UBM is trained on, and a held-out
# evaluation set (speakers AND texts never used for training), with Debian's festival
# voices and espeak-ng variants; sox speed/pitch perturbation makes more speakers.
#
#   scripts/voice/make_corpus.sh OUT_DIR
#
# Writes
#   OUT_DIR/train/<speaker>/NN.wav    training speakers, templated training sentences
#   OUT_DIR/eval/<speaker>/NN.wav     held-out speakers, hand-written eval sentences
#   OUT_DIR/eval/enroll.tsv           speaker<TAB>wav   (3 utterances per speaker)
#   OUT_DIR/eval/trials.tsv           speaker<TAB>wav<TAB>target|nontarget
#   OUT_DIR/eval/cold/...             the same speakers with a "cold" (pitch down, low-pass)
#   OUT_DIR/eval/trials_cold.tsv      cold utterances as target trials
# Every file is 16 kHz mono PCM16 with a little pink noise and random padding. The run
# is deterministic (every draw from a seeded $RANDOM, sox -R), so the UBM built from it
# is reproducible byte for byte.
# Needs: espeak-ng, festival + festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
# festvox-italp16k festvox-suopuhe-lj festvox-czech-dita, sox (scripts/install-deps.sh).
set -euo pipefail

out=${1:?usage: make_corpus.sh OUT_DIR}
train_utts=${KEFU_VOICE_TRAIN_UTTS:-12}
eval_enroll=3
eval_tests=${KEFU_VOICE_EVAL_TESTS:-8}
cold_tests=2
jobs=${KEFU_VOICE_JOBS:-2}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in espeak-ng text2wave sox soxi; do
  command -v "$tool" >/dev/null || { echo "make_corpus: $tool not found" >&2; exit 1; }
done

# Speakers: name|engine|voice|sox-effects that define the speaker (perturbation).
# espeak-ng variants were chosen so that no two speakers across train and eval share a
# vocal tract (variants with identical formant tables, e.g. Andy/Lee, are used once).
train_speakers=(
  "e_m1|espeak|en-us+m1|" "e_m2|espeak|en+m2|" "e_m4|espeak|en-gb-scotland+m4|"
  "e_m5|espeak|en-029+m5|" "e_m6|espeak|en-us+m6|" "e_f1|espeak|en+f1|"
  "e_f3|espeak|en-us+f3|" "e_f5|espeak|en-gb-x-rp+f5|" "e_klatt|espeak|en-us+klatt|"
  "e_klatt3|espeak|en+klatt3|" "e_alicia|espeak|en-us+Alicia|" "e_annie|espeak|en+Annie|"
  "e_boris|espeak|en-us+boris|" "e_gustave|espeak|en+gustave|" "e_iven|espeak|en-us+iven|"
  "e_kauko|espeak|en+kaukovalta|" "e_marcelo|espeak|en-us+marcelo|" "e_norbert|espeak|en+norbert|"
  "e_pablo|espeak|en-us+pablo|" "e_pedro|espeak|en+pedro|" "e_quincy|espeak|en-us+quincy|"
  "e_sandro|espeak|en+sandro|" "e_shelby|espeak|en-us+shelby|" "e_travis|espeak|en+travis|"
  "e_jacky|espeak|en-us+Jacky|" "e_nguyen|espeak|en+Nguyen|" "e_aunty|espeak|en-us+aunty|"
  "e_tweaky|espeak|en+Tweaky|" "e_ed|espeak|en-us+ed|" "e_adam|espeak|en+adam|"
  "e_croak|espeak|en-us+croak|" "e_grandma|espeak|en+grandma|" "e_anika|espeak|en-us+anika|"
  "e_announcer|espeak|en+announcer|" "e_unirobot|espeak|en-us+UniRobot|"
  "f_kal|festival|kal_diphone|" "f_ked|festival|ked_diphone|" "f_lp|festival|lp_diphone|"
  "f_dita|festival|czech_dita|"
  "p_m2_up|espeak|en+m2|pitch 300" "p_f3_down|espeak|en-us+f3|pitch -300"
  "p_kal_up|festival|kal_diphone|pitch 400" "p_ked_down|festival|ked_diphone|pitch -250"
  "p_annie_down|espeak|en+Annie|pitch -300" "p_quincy_fast|espeak|en-us+quincy|speed 1.12"
)
eval_speakers=(
  "e_m3|espeak|en-us+m3|" "e_m7|espeak|en+m7|" "e_f2|espeak|en-us+f2|" "e_f4|espeak|en+f4|"
  "e_andy|espeak|en-gb-scotland+Andy|" "e_gene|espeak|en-us+Gene|" "e_michael|espeak|en+Michael|"
  "e_mario|espeak|en-us+Mario|" "e_paul|espeak|en+paul|" "e_rob|espeak|en-029+rob|"
  "e_david|espeak|en-us+david|" "e_zac|espeak|en+zac|" "e_edward|espeak|en-us+edward|"
  "e_storm|espeak|en+Storm|" "e_alex|espeak|en-us+Alex|"
  "f_slt|festival|cmu_us_slt_arctic_hts|" "f_lj|festival|suo_fi_lj_diphone|"
  "p_m3_up|espeak|en-us+m3|pitch 300" "p_f4_down|espeak|en+f4|pitch -300"
  "p_michael_up|espeak|en+Michael|pitch 300"
)

# Training sentences: templates over customer-service words. Eval sentences: a separate
# hand-written list that shares no sentence with training.
subjects=("my order" "the parcel" "my account" "the invoice" "my card" "the refund"
  "the delivery" "my password" "the bill" "my booking" "the payment" "the package"
  "my subscription" "the warranty" "my address" "the router")
verbs=("has not arrived" "was charged twice" "is still pending" "needs to be changed"
  "was cancelled by mistake" "shows the wrong amount" "cannot be found" "stopped working"
  "was sent to the wrong place" "looks broken" "is locked again" "expired yesterday")
tails=("since last Monday" "after the update" "this morning" "for three weeks"
  "although I paid on time" "and nobody called me back" "before the holiday"
  "during the night" "even after two emails" "at the end of the month")
openers=("Hello," "Good morning," "Hi there," "Excuse me," "Yes, well," "Sorry to bother you,"
  "Listen," "Right, so")
numbers=("one" "two" "three" "four" "five" "six" "seven" "eight" "nine" "zero")

eval_sentences=(
  "The birch canoe slid on the smooth planks near the quiet lake."
  "Glue the sheet to the dark blue background before it dries."
  "It is easy to tell the depth of a well by dropping a stone."
  "These days a chicken leg is a rare dish in the old village."
  "Rice is often served in round bowls with a pair of chopsticks."
  "The juice of lemons makes fine punch for a summer party."
  "The box was thrown beside the parked truck in the rain."
  "Four hours of steady work faced us before the sun went down."
  "A large size in stockings is hard to sell in a small town."
  "The boy was there when the sun rose over the grey hills."
  "A rod is used to catch pink salmon in the northern rivers."
  "The source of the huge river is the clear spring up north."
  "Kick the ball straight and follow through with your whole leg."
  "Help the woman get back to her feet after the long walk."
  "A pot of tea helps to pass the evening by the warm fire."
  "Smoky fires lack flame and heat, so open the window wide."
  "The soft cushion broke the man's fall from the wooden ladder."
  "The salt breeze came across from the sea and cooled the deck."
  "The girl at the booth sold fifty bonds before lunch time."
  "The small pup gnawed a hole in the sock under the table."
  "The fish twisted and turned on the bent hook all afternoon."
  "Press the pants and sew a button on the vest tonight."
  "The swan dive was far short of perfect, but the crowd cheered."
  "The beauty of the view stunned the young travellers on the bridge."
  "Two blue fish swam in the tank beside the office window."
  "Her purse was full of useless trash and old paper tickets."
  "The colt reared and threw the tall rider into the mud."
  "It snowed, rained, and hailed the same morning in the valley."
  "Read verse out loud for pleasure when the house is quiet."
  "Hoist the load to your left shoulder and walk slowly uphill."
  "Take the winding path to reach the lake behind the farm."
  "Note closely the size of the gas tank before you buy the car."
  "Wipe the grease off his dirty face with a clean towel."
  "Mend the coat before you go out into the cold wind."
  "The wrist was badly strained and hung limp at his side."
  "The stray cat gave birth to kittens under the old porch."
  "The young girl gave no clear response to the strange question."
  "The meal was cooked before the bell rang for supper."
  "What joy there is in living close to the open fields."
  "A king ruled the state in the early days of the kingdom."
)

# Bash reseeds $RANDOM in every subshell ($(...), pipelines), so whatever draws numbers
# seeds $RANDOM itself in the shell it runs in.
pick() { local -n arr=$1; picked=${arr[$((RANDOM % ${#arr[@]}))]}; }

train_sentence() {  # train_sentence SEED
  RANDOM=$1
  local o s v t n1 n2 n3
  pick openers; o=$picked
  pick subjects; s=$picked
  pick verbs; v=$picked
  pick tails; t=$picked
  pick numbers; n1=$picked
  pick numbers; n2=$picked
  pick numbers; n3=$picked
  echo "$o $s $v $t, reference $n1 $n2 $n3."
}

# synth SPEAKER_SPEC TEXT OUT.wav SEED [extra sox effects]: one utterance.
synth() {
  local spec=$1 text=$2 wav=$3 seed=$4 extra=${5:-}
  local name engine voice perturb
  IFS='|' read -r name engine voice perturb <<<"$spec"
  RANDOM=$seed
  local tmp
  tmp=$(mktemp --suffix=.wav)
  local jitter_rate=$((150 + RANDOM % 40)) jitter_pitch=$((42 + RANDOM % 16))
  local tempo="1.0$((RANDOM % 9))"
  if ((RANDOM % 2)); then tempo="0.9$((3 + RANDOM % 7))"; fi
  if [ "$engine" = espeak ]; then
    espeak-ng -v "$voice" -s "$jitter_rate" -p "$jitter_pitch" -w "$tmp" "$text"
    tempo=1.0
  else
    echo "$text" | text2wave -eval "(voice_$voice)" -o "$tmp" 2>/dev/null
  fi
  local gain="-$((2 + RANDOM % 8))"
  local pad_a="0.$((1 + RANDOM % 5))" pad_b="0.$((2 + RANDOM % 6))"
  local noise_vol="0.00$((1 + RANDOM % 4))"
  local shaped
  shaped=$(mktemp --suffix=.wav)
  # shellcheck disable=SC2086
  sox -R "$tmp" -r 16000 -c 1 -b 16 "$shaped" gain -6 $perturb tempo "$tempo" $extra \
    gain -n "$gain" pad "$pad_a" "$pad_b"
  local dur
  dur=$(soxi -D "$shaped")
  sox -R -m "$shaped" "|sox -R -n -r 16000 -c 1 -p synth $dur pinknoise vol $noise_vol" \
    -b 16 "$wav"
  rm -f "$tmp" "$shaped"
}

declare -a work=()
seed=1000
for spec in "${train_speakers[@]}"; do
  name=${spec%%|*}
  mkdir -p "$out/train/$name"
  for ((i = 0; i < train_utts; i++)); do
    seed=$((seed + 1))
    work+=("$spec"$'\t'"$(train_sentence "$seed")"$'\t'"$out/train/$name/$(printf %02d "$i").wav"$'\t'"$seed"$'\t')
  done
done

enroll_tsv=$out/eval/enroll.tsv
trials_tsv=$out/eval/trials.tsv
cold_tsv=$out/eval/trials_cold.tsv
mkdir -p "$out/eval"
: >"$enroll_tsv"
: >"$trials_tsv"
: >"$cold_tsv"
names=()
seed=50000
for spec in "${eval_speakers[@]}"; do
  name=${spec%%|*}
  names+=("$name")
  mkdir -p "$out/eval/$name" "$out/eval/cold/$name"
  # A per-speaker shuffle of the eval sentences: enrolment and tests never share a text.
  seed=$((seed + 1))
  order=($({
    RANDOM=$seed
    for i in "${!eval_sentences[@]}"; do echo "$RANDOM $i"; done
  } | sort -n -k1,1 -k2,2 | cut -d' ' -f2))
  for ((i = 0; i < eval_enroll + eval_tests + cold_tests; i++)); do
    text=${eval_sentences[${order[$i]}]}
    if ((i < eval_enroll)); then
      wav=$out/eval/$name/enroll$i.wav
      printf '%s\t%s\n' "$name" "$wav" >>"$enroll_tsv"
      extra=""
    elif ((i < eval_enroll + eval_tests)); then
      wav=$out/eval/$name/test$((i - eval_enroll)).wav
      extra=""
    else
      wav=$out/eval/cold/$name/cold$((i - eval_enroll - eval_tests)).wav
      printf '%s\t%s\ttarget\n' "$name" "$wav" >>"$cold_tsv"
      extra="pitch -250 lowpass 3000"
    fi
    work+=("$spec"$'\t'"$text"$'\t'"$wav"$'\t'"$((seed * 7 + i))"$'\t'"$extra")
  done
done
# Every test utterance against every enrolled speaker.
for name in "${names[@]}"; do
  for ((t = 0; t < eval_tests; t++)); do
    wav=$out/eval/$name/test$t.wav
    for claimed in "${names[@]}"; do
      if [ "$claimed" = "$name" ]; then kind=target; else kind=nontarget; fi
      printf '%s\t%s\t%s\n' "$claimed" "$wav" "$kind" >>"$trials_tsv"
    done
  done
done

export -f synth
export -f pick
printf '%s\n' "${work[@]}" | xargs -d '\n' -P "$jobs" -I{} bash -c '
  IFS=$'"'"'\t'"'"' read -r spec text wav seed extra <<<"$1"
  synth "$spec" "$text" "$wav" "$seed" "$extra"' _ {}
echo "make_corpus: $(find "$out/train" -name '*.wav' | wc -l) training and" \
  "$(find "$out/eval" -name '*.wav' | wc -l) evaluation utterances in $out"
