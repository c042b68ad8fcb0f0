"""How the advisor decides, rule by rule: a restriction overrides a permission the policy does not make
an exception for; a "yes" must account for every restriction in the question; a pasted draft is read on
its own and its findings listed, each with its clause."""

from __future__ import annotations

import pytest

from policy_kb.advisor import Advisor
from policy_kb.answer import Verdict
from policy_kb.drafts import draft_in
from policy_kb.matcher import score


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load()


def best_case(advisor: Advisor, question: str):
    reading = advisor.matcher.read(question)
    ranked = sorted(((score(s, reading, advisor.knowledge.concepts), i, s) for i, s in enumerate(advisor.knowledge.situations)),
                    key=lambda item: (-item[0], item[1]))
    return ranked[0][2]


def test_a_permission_does_not_lift_a_restriction_it_is_no_exception_to(advisor):
    # On a break, your own phone is fine; running down the head is not, whatever the time of day.
    question = "On my lunch break can I tell the staff WhatsApp how useless the head is?"
    assert best_case(advisor, question).verdict is Verdict.ALLOWED
    answer = advisor.ask(question)
    assert answer.verdict is Verdict.NOT_ALLOWED and answer.situation == "disparaging_comments"
    assert any("disparaging" in citation.quote for citation in answer.citations)


def test_a_restriction_left_over_means_check_first(advisor):
    # Personal posts are fine; colleagues in them are something no case here answers: check first.
    question = "Can I post a photo of our staff Christmas party on my Facebook?"
    assert best_case(advisor, question).verdict is Verdict.ALLOWED
    answer = advisor.ask(question)
    assert answer.verdict is Verdict.ASK_HEADTEACHER and not answer.confident
    assert answer.answer == advisor.knowledge.fallback["restricted_answer"]


@pytest.mark.parametrize("question", [
    "The head has asked me to run the school's Facebook page and given me the login. Can I post the newsletter link on it?",
    "Can I be friends with colleagues on Facebook?",
])
def test_an_exception_the_policy_makes_stays_a_yes(advisor, question):
    assert advisor.ask(question).verdict is Verdict.ALLOWED


@pytest.mark.parametrize("question", [
    "she left for secondary last year so she's not my pupil any more, can I accept her follow request?",
    "A pupil in my class wants to follow my private Instagram. It's locked, so is that ok?",
    "its a group of adult colleagues so can i share a really crude sexual meme in it?",
])
def test_the_issues_own_traps_are_never_a_yes(advisor, question):
    assert advisor.ask(question).verdict in {Verdict.NOT_ALLOWED, Verdict.ASK_HEADTEACHER}


def test_a_draft_is_read_line_by_line_and_its_findings_listed(advisor):
    answer = advisor.ask(
        "Can you check this before I post on Facebook: 'So proud of Amelia in 4B today, what a star! "
        "Trip to Chester Zoo on Thursday 12th #AlderleyEdgePrimary'"
    )
    assert answer.verdict is Verdict.NOT_ALLOWED
    found = {finding.label: finding.excerpt for finding in answer.findings}
    assert found["a child's name"] == "Amelia in 4B"
    assert found["a class or year group"] == "4B"
    assert found["a trip's date and place"].startswith("Trip to Chester Zoo")
    assert "#AlderleyEdgePrimary" in found["the school (its name, a tag or hashtag, or the school itself)"]
    document_text = " ".join(clause.text for clause in advisor.document.clauses)
    assert all(finding.citation.quote in document_text for finding in answer.findings)


def test_a_draft_with_nothing_the_policy_touches_is_a_plain_yes(advisor):
    answer = advisor.ask("check this before I post: 'Lovely walk with the dog this morning, then a big Sunday roast'")
    assert answer.verdict is Verdict.ALLOWED and answer.confident and answer.findings == ()


def test_quoted_words_in_a_question_that_asks_no_check_are_not_a_draft():
    assert draft_in("A parent called our school 'a total disgrace' in the village group. What do I do?") is None
    assert draft_in("is this ok to post: 'Great day at the beach with my two'") == "Great day at the beach with my two"


def test_findings_only_ever_make_an_answer_stricter(advisor):
    # The draft names a colleague (check first), but the case itself is already a no: it stays a no.
    answer = advisor.ask("Can you check this before I post on X: 'Mrs Jones in 4B is useless and everyone knows it'")
    assert answer.verdict is Verdict.NOT_ALLOWED and answer.findings


def test_a_fact_about_the_policy_does_not_answer_a_request_a_restriction_decides(advisor):
    # "I'll delete it later" is about how posts last (information); the pupils in it decide the request.
    answer = advisor.ask("I'll delete it later, it's just a 24-hour story. Can I put up a quick video of the kids in my class doing their dance?")
    assert answer.verdict is Verdict.NOT_ALLOWED
    assert advisor.ask("If I delete a post, does it still count?").verdict is Verdict.INFO


@pytest.mark.parametrize("question", [
    "Can I sell my son's old cot on Facebook marketplace?",
    "can i post about my kids not sleeping on my insta lol",
    # One's own family, one's own sick leave, a distance run.
    "It's my mum's 60th, fine to put a happy birthday post on fb with some family photos?",
    "I'm off sick with flu this week, is it ok that I'm still on fb replying to friends' posts?",
    'Draft for my personal Insta: "Finally finished Couch to 5K!! #parkrun #running" - is that alright?',
    # Photos are "shots" as often as drinks are; Call of Duty is a game, not a duty.
    "Got some cracking sunset shots from Helvellyn over half term, posting them on fb is fine?",
    "Can I play Call of Duty online with my brother and his mates at the weekend?",
    # "From a school pov" asks what the policy says; it is not about the school.
    "Selling my old pram and cot on fb marketplace this weekend - any issue with that from a school pov?",
])
def test_everyday_life_is_a_plain_yes(advisor, question):
    answer = advisor.ask(question)
    assert answer.verdict is Verdict.ALLOWED and answer.confident


@pytest.mark.parametrize("question", [
    "can i post a throwback pic of me at my own primary school in the 90s?",
    "Can I post photos of my grandchildren on facebook? They go to a school in Leeds.",
])
def test_a_school_that_is_not_this_one_is_no_restriction(advisor, question):
    assert advisor.ask(question).verdict is Verdict.ALLOWED


@pytest.mark.parametrize("question", [
    "My colleague left her Facebook logged in on the staffroom computer and someone posted something rude from it",
    "An anonymous instagram account keeps posting nasty stuff about our school and the head",
    "Someone screenshotted our safeguarding discussion from the staff group and it's been shared on the parents' page",
    "A TA who left in July still has the login to the school Twitter and posted last night",
    "i put a sports day pic on my story with kids faces in it before i thought, deleted it after 10 mins. what now",
])
def test_something_that_happened_is_a_report(advisor, question):
    assert advisor.ask(question).verdict is Verdict.REPORT


def test_making_an_anonymous_account_oneself_is_not_someone_elses_act(advisor):
    answer = advisor.ask("If I make an anonymous Twitter account nobody will know it's me, so I can vent about SLT on there, right?")
    assert answer.verdict is Verdict.NOT_ALLOWED


def test_surprise_is_not_a_request(advisor):
    # Someone else still posting on a school account after leaving: to report, not a "may I".
    assert advisor.ask("mrs x left at easter but she's STILL posting on the PTA twitter?!").verdict is Verdict.REPORT


def test_another_policy_of_the_school_is_not_this_one(advisor):
    assert advisor.ask("whats the uniform policy for PE days").verdict is Verdict.OUT_OF_SCOPE
    assert advisor.ask("What does the social media policy say about friend requests?").verdict is not Verdict.OUT_OF_SCOPE


@pytest.mark.parametrize("question,verdict", [
    # Declining or blocking a request is never making the connection the policy restricts.
    ("a pupils mum sent me a friend request on fb. can I just decline it?", Verdict.ALLOWED),
    # One's own baby is not a pupil; having a drink is not being drunk; one's own real name is one's own.
    ("Back from mat leave - can I keep posting pics of my baby on my personal fb? nothing school related", Verdict.ALLOWED),
    ("is it fine to use my real name on instagram or should i use a nickname?", Verdict.ALLOWED),
    # The asker's own job is not a colleague; warning people off someone disparages them.
    ("I'm new - can I do a LinkedIn post announcing I've joined Alderley Edge Community Primary School as office manager?", Verdict.ASK_HEADTEACHER),
    ("can I comment on a former colleague's linkedin post warning people she was unreliable?", Verdict.NOT_ALLOWED),
    ("Can I paste my class list into ChatGPT to sort my reading groups?", Verdict.NOT_ALLOWED),
    # A gig one goes to is no income; a brand's money for a post and a streamer's donations are.
    ("Would it be ok to post a photo of me and my husband at the Coldplay gig on insta?", Verdict.ALLOWED),
    ("a skincare company offered me £150 to post about their cream on my insta, can I?", Verdict.ASK_HEADTEACHER),
    ("I stream on twitch at weekends and get the odd donation from viewers, anything I need to do?", Verdict.ASK_HEADTEACHER),
    # A dating app is social media; friends and family are one's own; a colleague's agreement is theirs to give.
    ("im on bumble, nothing about where i work on my profile. thats fine isnt it", Verdict.ALLOWED),
    ("can i keep my snapchat for friends and family? its private", Verdict.ALLOWED),
    ("photo of me and two colleagues at the pub quiz, they're both fine with it, can I post it?", Verdict.ALLOWED),
    # What a parent asks about their child at school is for the school's channels, not a personal account.
    ("a mum messaged me on facebook asking how her son's reading is going, can I just reply?", Verdict.NOT_ALLOWED),
    # Calling a colleague thick disparages them; a colleague's inappropriate messages are to be reported.
    ("can I put in the staff group chat that the new TA is thick as two short planks?", Verdict.NOT_ALLOWED),
    ("a colleague keeps sending me inappropriate messages on snapchat", Verdict.REPORT),
])
def test_what_the_words_mean_for_anyone_who_writes_them(advisor, question, verdict):
    assert _cases_alone(advisor).ask(question).verdict is verdict


def test_ones_own_child_is_no_exception_for_the_other_pupils_in_the_picture(advisor):
    question = "my daughter is in year 2 here, can I post a pic of her at sports day? there's other kids in the background"
    assert _cases_alone(advisor).ask(question).verdict is not Verdict.ALLOWED


def _cases_alone(advisor: Advisor) -> Advisor:
    # What the cases and vocabulary decide, without the verdict model's second opinion.
    return Advisor(advisor.document, advisor.knowledge, rules=advisor.rules)


def test_a_yes_that_fits_no_better_than_a_restriction_does_not_win_the_tie(advisor):
    # Sharing the school's posts (a yes) and posting on a school account (a check first) fit this equally.
    question = "We'd like to get the Harvest Festival photos on the PTA Facebook this week. Who needs to sign that off?"
    ranked = advisor._ranked(advisor.matcher.read(question))
    assert ranked[0][0] == ranked[1][0] and ranked[0][2].verdict is not Verdict.ALLOWED
    assert advisor.ask(question).verdict is Verdict.ASK_HEADTEACHER


def test_sharing_a_news_article_is_not_speaking_to_the_press(advisor):
    assert advisor.ask("can i share a bbc news article on facebook? it's about the weather").verdict is Verdict.ALLOWED
    assert advisor.ask("a journalist from the local paper rang me asking about our SATs results, can I give a quote?").verdict \
        is not Verdict.ALLOWED


def test_views_about_religion_are_not_discrimination_but_a_joke_about_one_is(advisor):
    assert "discrimination" not in advisor.matcher.read("staff may express personal political and religious views").concepts
    assert "discrimination" in advisor.matcher.read("someone put a joke in the staff group about a certain religion").concepts


def test_buying_gaming_gear_is_not_about_social_media(advisor):
    assert advisor.ask("whats a decent gaming headset under £50").verdict is Verdict.OUT_OF_SCOPE


def test_a_word_typed_again_keeps_the_sense_a_longer_term_gave_it(advisor):
    read = advisor.matcher.read
    assert "pupil" not in read("I go to a pottery class on tuesdays, can I post pics of what I made in class on my insta").concepts
    assert "pupil" in read("can I post pics of what the children made in class on my insta").concepts
    # Only the word as typed again: "governor here" is the asker, "the other governors" are colleagues.
    assert "colleague" in read("Governor here. Can I be fb friends with the other community governors?").concepts


def test_an_incident_aimed_at_the_asker_quotes_the_policys_part_for_staff_affected(advisor):
    aimed = advisor.ask("One of the dads has been DMing me on fb since I blocked him on insta, saying he knows what car I drive")
    assert aimed.verdict is Verdict.REPORT
    assert aimed.citations[0].section == "Support for those affected or involved"
    seen = advisor.ask("my colleague posted a photo of her class on her public insta")
    assert seen.verdict is Verdict.REPORT
    assert "Support for those affected or involved" not in {citation.section for citation in seen.citations}


def test_a_job_opening_the_message_is_the_askers_own(advisor):
    read = advisor.matcher.read
    introduced = read("Site manager. I'm in a vintage tractor group on facebook, ok to post pics of my tractor?").concepts
    assert "self_role" in introduced and "colleague" not in introduced
    # Pointing at someone is not saying who one is.
    assert "colleague" in read("The new TA, can I add her on fb?").concepts
    assert "colleague" in read("my TA - can I follow her on insta").concepts


def test_someone_elses_act_aimed_at_the_asker_is_reported(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("Ashby Fields Primary School: Staff Social Media Policy\n\nContact with pupils\n"
                      "Staff must not follow, friend or message current pupils on any personal account.\n", encoding="utf-8")
    advisor = Advisor.load(policy_path=policy, cache_dir=tmp_path)
    assert advisor.ask("a y5 girl keeps messaging me on tiktok. i havent replied. what do i do").verdict is Verdict.REPORT
    # Asked before it happens, the rule answers.
    assert advisor.ask("a y5 girl wants to follow me on tiktok, can I follow her back?").verdict is Verdict.NOT_ALLOWED
